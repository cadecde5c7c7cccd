package dev.tav4j.cli;

import dev.tav4j.model.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code tav tune --lora-rank} and {@code lora_rank:} of {@code tav run} end to end on the tiny model: the result is
 * OUT/lora.safetensors (PEFT names), which {@code tav edit --lora} reads without a tuned UNet; bad input refused in
 * one line each.
 */
class LoraTuningCliTest {
    /** {@code tav tune --lora-rank} at 2 frames of 32×32 (with {@code extra}). */
    static Tav.Run tune(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("tune", "--model", Tav.tinyModel().toString(), "--video", Tav.video("man-skiing.mp4").toString(),
                "--prompt", "a man is skiing", "--frames", "2", "--height", "32", "--width", "32", "--seed", "33", "--out", out.toString()));
        a.addAll(List.of(extra));
        return Tav.run(a.toArray(String[]::new));
    }

    private static Tav.Run edit(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("edit", "--model", Tav.tinyModel().toString(), "--prompt", "a cat is skiing",
                "--steps", "2", "--seed", "3", "--frames", "2", "--height", "32", "--width", "32", "--out", out.toString()));
        a.addAll(List.of(extra));
        return Tav.run(a.toArray(String[]::new));
    }

    private static void assertOneLineError(Tav.Run r, String... parts) {
        assertNotEquals(0, r.code(), r.all());
        // (a first load in this build also notes "tav: wrote … repacked weights")
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("tav: ") && !l.contains("repacked weights")).count(), r.err());
        for (String p : parts) assertTrue(r.err().contains(p), "message names '" + p + "': " + r.err());
    }

    @Test void tuneWritesALoraFileThatEditReads(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("lora-run"), lora = out.resolve("lora.safetensors");
        // a large learning rate: two steps must change the edit beyond GIF quantisation
        Tav.Run r = tune(out, "--lora-rank", "4", "--steps", "2", "--lr", "1e-2", "--checkpoint-every", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("LoRA rank 4 on") && r.err().contains("lr 0.0100"), r.err());
        assertTrue(r.out().contains("LoRA:") && r.out().contains(lora.toString()) && r.out().contains("--lora"), r.out());
        assertFalse(r.out().contains("tuned UNet:"), r.out());
        assertFalse(Files.exists(out.resolve("unet")), "a LoRA run writes no unet/");
        assertTrue(Files.isRegularFile(out.resolve("checkpoint-2/state.json")));
        try (SafeTensors st = SafeTensors.open(lora)) {
            assertFalse(st.names().isEmpty());
            assertTrue(st.names().stream().allMatch(n -> n.startsWith("unet.") && (n.endsWith(".lora_A.weight") || n.endsWith(".lora_B.weight"))), st.names().toString());
            assertEquals("4", st.metadata().get("lora_rank"));
        }

        Path base = dir.resolve("base.gif"), with = dir.resolve("lora.gif");
        r = edit(with, "--lora", lora.toString());  // no --tuned: the base UNet, inflated, with the LoRA merged
        assertEquals(0, r.code(), r.err());
        assertEquals(0, edit(base, "--lora", lora + ":0").code());
        Gifs.assertDifferentFrames(base, with, "edit --lora OUT/lora.safetensors changed nothing");

        // the LoRA run's folder given as --tuned: told to use --lora
        assertOneLineError(edit(dir.resolve("x.gif"), "--tuned", out.toString()), "--lora " + lora);
        // neither --tuned nor --lora
        assertOneLineError(edit(dir.resolve("y.gif")), "--tuned", "--lora");
        // resuming with another rank is another run
        assertOneLineError(tune(out, "--lora-rank", "8", "--steps", "3", "--lr", "1e-2", "--resume"), "lora_rank '4' there, '8' now");
    }

    @Test void badLoraRankIsRefusedInOneLine(@TempDir Path dir) {
        assertOneLineError(tune(dir.resolve("a"), "--lora-rank", "0", "--steps", "1"), "--lora-rank must be at least 1, got 0");
        assertOneLineError(tune(dir.resolve("b"), "--lora-rank", "4", "--save-trainable-only", "--steps", "1"), "--save-trainable-only with --lora-rank");
        // tiny-sd-a's smallest adapted layer maps 32 to 32 features
        Tav.Run r = tune(dir.resolve("c"), "--lora-rank", "33", "--steps", "1");
        assertOneLineError(r, "lora_rank 33 is larger than trainable module", "at most 32");
        assertTrue(r.err().contains("lr 0.000300"), "a LoRA run's default learning rate is 10× the official: " + r.err());
        assertFalse(Files.exists(dir.resolve("c/lora.safetensors")));
    }

    @Test void runTrainsLoraFromTheConfigAndValidatesWithIt(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("o"), cfg = dir.resolve("c.yaml");
        Files.writeString(cfg, SingleFileCommandsTest.yaml(Tav.tinyModel(), out, "lora_rank: 4\nvalidation_steps: 1")
                .replace("  prompts: []", "  prompts: [\"a cat is skiing\"]\n  num_inference_steps: 2\n  use_inv_latent: true\n  num_inv_steps: 2"));
        Tav.Run r = Tav.run("run", cfg.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("ignoring keys"), "lora_rank is known: " + r.err());
        assertTrue(r.err().contains("lora_rank with learning_rate 3.0E-5"), "a note on the official rate with LoRA: " + r.err());
        assertTrue(Files.isRegularFile(out.resolve("lora.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("samples/sample-1/a cat is skiing.gif")), "validated with the adapters");
        assertFalse(Files.exists(out.resolve("unet")));
    }

    @Test void runRefusesWhatLoraCannotTuneNamingIt(@TempDir Path dir) throws IOException {
        Path cfg = dir.resolve("c.yaml");
        Files.writeString(cfg, SingleFileCommandsTest.yaml(Tav.tinyModel(), dir.resolve("o"), "lora_rank: 4\ntrainable_modules: [\"attn1.to_q\", \"resnets.0.conv1\"]"));
        assertOneLineError(Tav.run("run", cfg.toString()), "'down_blocks.0.resnets.0.conv1' is a convolution", "Linear layers only");
        assertFalse(Files.exists(dir.resolve("o/lora.safetensors")));

        Files.writeString(cfg, SingleFileCommandsTest.yaml(Tav.tinyModel(), dir.resolve("o"), "lora_rank: 0"));
        assertOneLineError(Tav.run("run", cfg.toString()), cfg + ":12: lora_rank must be at least 1");
        Files.writeString(cfg, SingleFileCommandsTest.yaml(Tav.tinyModel(), dir.resolve("o"), "lora_rank: 4\nsave_trainable_only: true"));
        assertOneLineError(Tav.run("run", cfg.toString()), cfg + ":12: lora_rank with save_trainable_only");
    }
}
