package dev.tav4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.video.GifWriter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input to tav tune / run / edit: each message names the thing that is wrong, and nothing is left half-written. */
class TuneBadInputTest {
    private static Tav.Run tune(Path model, Path video, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("tune", "--model", model.toString(), "--video", video.toString(), "--prompt", "a man is skiing",
                "--frames", "2", "--height", "64", "--width", "64", "--steps", "1", "--out", out.toString()));
        a.addAll(List.of(more));
        return Tav.run(a.toArray(String[]::new));
    }

    private static void assertFails(Tav.Run r, String... parts) {
        assertEquals(1, r.code(), r.all());
        for (String p : parts) assertTrue(r.err().contains(p), "message names '" + p + "': " + r.err());
    }

    @Test
    void missingVideo(@TempDir Path dir) {
        Tav.Run r = tune(dir.resolve("model"), dir.resolve("no-such-clip.mp4"), dir.resolve("out"));
        assertFails(r, "no-such-clip.mp4", "not found");
        assertFalse(Files.exists(dir.resolve("out")), "no output folder for a run that never started");
    }

    @Test
    void unreadableVideo(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("broken.mp4");
        Files.write(bad, "this is not a video".repeat(50).getBytes());
        assertFails(tune(dir.resolve("model"), bad, dir.resolve("out")), "broken.mp4");
    }

    @Test
    void videoShorterThanAskedSaysHowManyFramesItHas(@TempDir Path dir) throws Exception {
        Path gif = dir.resolve("three.gif");
        List<BufferedImage> frames = new ArrayList<>();
        for (int i = 0; i < 3; i++) frames.add(new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB));
        GifWriter.write(gif, frames, 100);
        Tav.Run r = tune(dir.resolve("model"), gif, dir.resolve("out"), "--start", "2"); // frames 2 and 3 of 0..2
        assertFails(r, "three.gif", "has 3 frames");
    }

    @Test
    void sizeNotAMultipleOf8(@TempDir Path dir) {
        Tav.Run r = Tav.run("tune", "--model", "m", "--video", "v.mp4", "--prompt", "x", "--height", "60", "--out", dir.toString());
        assertFails(r, "--height", "multiples of 8", "60");
    }

    @Test
    void outputFolderThatIsAFile(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("taken"), "x");
        assertFails(tune(Tav.tinyModel(), Tav.video("man-skiing.mp4"), file), "taken", "is a file");
        assertFails(tune(Tav.tinyModel(), Tav.video("man-skiing.mp4"), file.resolve("sub")), "taken", "cannot be written");
        assertEquals("x", Files.readString(file));
    }

    @Test
    void outputFolderOnAReadOnlyFileSystem() {
        Path proc = Path.of("/proc/self");
        Assumptions.assumeTrue(Files.isDirectory(proc), "needs Linux /proc (not writable, even by root)");
        assertFails(tune(Tav.tinyModel(), Tav.video("man-skiing.mp4"), proc.resolve("tav4j-out")), "tav4j-out", "cannot be written");
    }

    @Test
    void tunedUnetNotMatchingTheBaseCheckpoint(@TempDir Path dir) throws Exception {
        Path model = Tav.tinyModel(), tuned = model.resolveSibling("tiny-tuned-a").resolve("unet");
        Path bad = Files.createDirectories(dir.resolve("other-tuned/unet"));
        ObjectNode cfg = (ObjectNode) Json.read(tuned.resolve("config.json"));
        ((ArrayNode) cfg.get("block_out_channels")).set(0, 16);
        Files.writeString(bad.resolve("config.json"), cfg.toString());
        Files.createSymbolicLink(bad.resolve("diffusion_pytorch_model.safetensors"), tuned.resolve("diffusion_pytorch_model.safetensors"));
        Path out = dir.resolve("edit.gif");
        Tav.Run r = Tav.run("edit", "--model", model.toString(), "--tuned", dir.resolve("other-tuned").toString(), "--prompt", "x",
                "--frames", "2", "--height", "64", "--width", "64", "--steps", "1", "--out", out.toString());
        assertFails(r, "other-tuned", "does not match the base checkpoint");
        assertFalse(Files.exists(out));
    }

    @Test
    void editOutputMustBeGifOrMp4(@TempDir Path dir) {
        Tav.Run r = Tav.run("edit", "--model", "m", "--tuned", "t", "--prompt", "x", "--out", dir.resolve("edit.png").toString());
        assertFails(r, "edit.png", ".gif or .mp4");
    }

    @Test
    void configErrorsNameTheKey(@TempDir Path dir) throws Exception {
        String base = """
                pretrained_model_path: "m"
                output_dir: "%s"
                train_data:
                  video_path: "v.mp4"
                  prompt: "a man is skiing"
                validation_data:
                  prompts: []
                """.formatted(dir.resolve("out"));
        Path yaml = dir.resolve("c.yaml");
        Files.writeString(yaml, base + "lr_scheduler: cosine\n");
        assertFails(Tav.run("run", yaml.toString()), "lr_scheduler", "cosine", "constant");
        Files.writeString(yaml, base + "learning_rate: fast\n");
        assertFails(Tav.run("run", yaml.toString()), "c.yaml", "learning_rate", "fast");
        Files.writeString(yaml, base + "gradient_accumulation_steps: 4\n");
        assertFails(Tav.run("run", yaml.toString()), "gradient_accumulation_steps");
        Files.writeString(yaml, base.replace("train_data:\n  video_path: \"v.mp4\"\n", "train_data:\n"));
        assertFails(Tav.run("run", yaml.toString()), "train_data.video_path", "missing");
        Files.writeString(yaml, "pretrained_model_path: [unclosed\n");
        assertFails(Tav.run("run", yaml.toString()), "c.yaml");
        assertFails(Tav.run("run", dir.resolve("nope.yaml").toString()), "nope.yaml", "not found");
        Files.writeString(yaml, base.replace("prompt: \"a man is skiing\"", "prompt: \"a man is skiing\"\n  width: 100"));
        assertFails(Tav.run("run", yaml.toString()), "multiples of 8");
        assertFalse(Files.exists(dir.resolve("out")), "no output folder for a config that was refused");

        // resume_from_checkpoint naming a checkpoint that is not the latest: tav4j resumes from the latest only
        for (int step : new int[]{2, 4}) {
            Path ck = Files.createDirectories(dir.resolve("out/checkpoint-" + step));
            Files.writeString(ck.resolve("state.json"), "{\"step\": " + step + ", \"seed\": 1}");
        }
        Files.writeString(yaml, base + "resume_from_checkpoint: somewhere/checkpoint-2\n");
        assertFails(Tav.run("run", yaml.toString()), "checkpoint-2", "checkpoint-4", "latest");
        Files.writeString(yaml, base + "resume_from_checkpoint: checkpoint-3\n");
        assertFails(Tav.run("run", yaml.toString()), "checkpoint-3", "no complete checkpoint");
    }

    @Test
    void officialNumbersAreReadLeniently(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("c.yaml");
        Files.writeString(yaml, """
                pretrained_model_path: ./m
                output_dir: out
                train_data: {video_path: v.mp4, prompt: p, n_sample_frames: "24"}
                validation_data: {prompts: [a, b], use_inv_latent: yes, guidance_scale: 12.5}
                learning_rate: 3e-5
                adam_epsilon: "1e-08"
                max_train_steps: 500.0
                seed: null
                """);
        TuneConfig c = TuneConfig.read(yaml);
        assertEquals(3e-5, c.learningRate(), 1e-12);
        assertEquals(1e-8, c.adamEpsilon(), 1e-15);
        assertEquals(500, c.maxTrainSteps());
        assertEquals(24, c.trainData().nSampleFrames());
        assertEquals(1, c.trainData().sampleFrameRate(), "TuneAVideoDataset's default");
        assertTrue(c.validationData().useInvLatent());
        assertEquals(List.of("a", "b"), c.validationData().prompts());
        assertEquals(Path.of("./m"), c.pretrainedModelPath());
        assertEquals(null, c.seed());
        assertTrue(c.gradientCheckpointing(), "train_tuneavideo.py's default");
        assertTrue(c.unknownKeys().isEmpty(), c.unknownKeys().toString());
    }
}
