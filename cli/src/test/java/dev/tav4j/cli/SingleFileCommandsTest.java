package dev.tav4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code tune}, {@code edit} and {@code run} from the single-file tiny model: the same results as from its folder. */
class SingleFileCommandsTest {
    static Path ldm() {
        return Tav.tinyModel().resolveSibling("tiny-sd-a.ldm.safetensors");
    }

    /** {@code tav tune} of 1 step at 32×32 × 2 frames from {@code model} (with {@code extra}) into {@code out}. */
    static Tav.Run tune(Path model, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("tune", "--model", model.toString(), "--video", Tav.video("man-skiing.mp4").toString(),
                "--prompt", "a man is skiing", "--frames", "2", "--height", "32", "--width", "32", "--steps", "1", "--seed", "33",
                "--out", out.toString()));
        a.addAll(List.of(extra));
        return Tav.run(a.toArray(String[]::new));
    }

    /** {@code tav edit} from seeded noise (1 step, 2 frames of 32×32). */
    static Tav.Run edit(Path model, Path tuned, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("edit", "--model", model.toString(), "--tuned", tuned.toString(), "--prompt", "a cat is skiing",
                "--steps", "1", "--seed", "3", "--frames", "2", "--height", "32", "--width", "32", "--out", out.toString()));
        a.addAll(List.of(extra));
        return Tav.run(a.toArray(String[]::new));
    }

    static byte[] unet(Path out) throws IOException {
        return Files.readAllBytes(out.resolve("unet/diffusion_pytorch_model.safetensors"));
    }

    /** The tuned UNets of two runs hold the same tensors (in whatever order written), equal within tol relative. */
    static void assertCloseUnet(Path a, Path b, float tol, String message) throws IOException {
        java.util.Map<String, byte[]> ta = tensors(a), tb = tensors(b);
        assertEquals(new java.util.TreeSet<>(ta.keySet()), new java.util.TreeSet<>(tb.keySet()), message + ": other tensor names");
        for (String n : ta.keySet()) {
            var fa = java.nio.ByteBuffer.wrap(ta.get(n)).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            var fb = java.nio.ByteBuffer.wrap(tb.get(n)).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            for (int i = 0; i < fa.limit(); i++)
                assertTrue(Math.abs(fa.get(i) - fb.get(i)) <= tol * Math.max(1f, Math.abs(fa.get(i))), message + ": " + n + "[" + i + "] " + fa.get(i) + " vs " + fb.get(i));
        }
    }

    static java.util.Map<String, byte[]> tensors(Path out) throws IOException {
        byte[] f = unet(out);
        long n = java.nio.ByteBuffer.wrap(f, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        var header = new com.fasterxml.jackson.databind.ObjectMapper().readTree(new String(f, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8));
        java.util.Map<String, byte[]> out2 = new java.util.HashMap<>();
        header.fields().forEachRemaining(e -> {
            if (e.getKey().equals("__metadata__")) return;
            int from = (int) (8 + n + e.getValue().get("data_offsets").get(0).asLong()), to = (int) (8 + n + e.getValue().get("data_offsets").get(1).asLong());
            out2.put(e.getKey() + " " + e.getValue().get("dtype").asText() + e.getValue().get("shape"), java.util.Arrays.copyOfRange(f, from, to));
        });
        return out2;
    }

    static String lastLoss(Tav.Run r) {
        return r.out().lines().filter(l -> l.startsWith("tuned ")).findFirst().orElseThrow(() -> new AssertionError(r.out()));
    }

    @Test void tuneAndEditFromTheSingleFileEqualTheFolder(@TempDir Path dir) throws Exception {
        Path folder = Tav.tinyModel(), a = dir.resolve("a"), b = dir.resolve("b");
        Tav.Run ra = tune(folder, a);
        assertEquals(0, ra.code(), ra.err());

        Tav.Run rb = tune(ldm(), b, "--config", folder.toString());
        assertEquals(0, rb.code(), rb.err());
        assertEquals(lastLoss(ra), lastLoss(rb));
        // not bit for bit: a few tuned values differ in their last bits (which ones varies from run to run), while
        // two tunings from the folder agree exactly; see the report of the sf-commands branch
        assertCloseUnet(a, b, 1e-5f, "tuning from the single file gave other weights than from the folder");

        Path ga = dir.resolve("a.gif"), gb = dir.resolve("b.gif");
        Tav.Run ea = edit(folder, a, ga);
        assertEquals(0, ea.code(), ea.err());
        Tav.Run eb = edit(ldm(), a, gb, "--config", folder.toString());
        assertEquals(0, eb.code(), eb.err());
        Gifs.assertSameFrames(ga, gb);
    }

    @Test void resumeRefusesTheSameFileWithAnotherPredictionType(@TempDir Path dir) {
        Path out = dir.resolve("t");
        Tav.Run r = tune(ldm(), out, "--config", Tav.tinyModel().toString(), "--checkpoint-every", "1");
        assertEquals(0, r.code(), r.err());
        r = Tav.run("tune", "--model", ldm().toString(), "--config", Tav.tinyModel().toString(), "--prediction-type", "v",
                "--video", Tav.video("man-skiing.mp4").toString(), "--prompt", "a man is skiing", "--frames", "2", "--height", "32",
                "--width", "32", "--steps", "2", "--seed", "33", "--out", out.toString(), "--resume");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--resume") && r.err().contains("another run") && r.err().contains("model"), r.err());
    }

    @Test void editRefusesAConfigForAFolderInOneLine(@TempDir Path dir) {
        Tav.Run r = edit(Tav.tinyModel(), dir.resolve("none"), dir.resolve("x.gif"), "--config", Tav.tinyModel().toString());
        assertNotEquals(0, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("tav: ") && r.err().contains("--config"), r.err());
    }

    static String yaml(Path model, Path out, String extra) {
        return """
                pretrained_model_path: "%s"
                output_dir: "%s"
                train_data:
                  video_path: "%s"
                  prompt: "a man is skiing"
                  n_sample_frames: 2
                  width: 32
                  height: 32
                max_train_steps: 1
                seed: 33
                mixed_precision: "no"
                %s
                validation_data:
                  prompts: []
                """.formatted(model, out, Tav.video("man-skiing.mp4"), extra);
    }

    @Test void runFromTheSingleFileEqualsTuneFromTheFolder(@TempDir Path dir) throws IOException {
        Path a = dir.resolve("a"), b = dir.resolve("b"), cfg = dir.resolve("c.yaml");
        Tav.Run r = tune(Tav.tinyModel(), a);
        assertEquals(0, r.code(), r.err());
        Files.writeString(cfg, yaml(ldm(), b, "pretrained_model_config: \"" + Tav.tinyModel() + "\"\nprediction_type: epsilon"));
        r = Tav.run("run", cfg.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("ignoring keys"), "the tav4j keys are known: " + r.err());
        assertCloseUnet(a, b, 1e-5f, "tav run from the single file differs from tav tune from the folder");  // last bits: see above
    }

    @Test void runNamesTheBadKeyInOneLine(@TempDir Path dir) throws IOException {
        Path cfg = dir.resolve("c.yaml");
        Files.writeString(cfg, yaml(ldm(), dir.resolve("o"), "pretrained_model_config: \"" + Tav.tinyModel() + "\"\nprediction_type: sample"));
        Tav.Run r = Tav.run("run", cfg.toString());
        assertNotEquals(0, r.code());
        assertEquals(1, r.err().strip().lines().filter(l -> l.startsWith("tav: ")).count(), r.err());
        assertTrue(r.err().contains("tav: ") && r.err().contains(cfg + ":13: prediction_type") && !r.err().contains("--prediction-type"), r.err());

        Files.writeString(cfg, yaml(Tav.tinyModel(), dir.resolve("o"), "pretrained_model_config: \"" + Tav.tinyModel() + "\""));
        r = Tav.run("run", cfg.toString());
        assertNotEquals(0, r.code());
        assertEquals(1, r.err().strip().lines().filter(l -> l.startsWith("tav: ")).count(), r.err());
        assertTrue(r.err().contains(cfg + ":12: pretrained_model_config") && !r.err().contains("--config"), r.err());
    }
}
