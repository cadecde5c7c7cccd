package dev.tav4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.video.VideoClip;
import dev.tav4j.video.VideoReader;
import dev.tav4j.model.video.VideoSampling;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tav tune, tav edit and tav run end to end on the golden tiny checkpoint (2 frames of 64×64, a few steps). */
class TuneCommandsTest {
    static final String[] SMALL = {"--frames", "2", "--height", "64", "--width", "64"};

    static String[] args(String[] head, String... tail) {
        return Stream.concat(Stream.of(head), Stream.of(tail)).toArray(String[]::new);
    }

    @Test
    void tuneWritesTheTunedUnetAndCheckpointsThenEditMakesGifAndMp4(@TempDir Path dir) throws Exception {
        Path model = Tav.tinyModel(), video = Tav.video("man-skiing.mp4"), out = dir.resolve("tuned");
        Tav.Run r = Tav.run(args(new String[]{"tune", "--model", model.toString(), "--video", video.toString(), "--prompt", "a man is skiing",
                "--steps", "2", "--checkpoint-every", "1", "--validate-prompt", "a cat is skiing", "--validate-steps", "2",
                "--out", out.toString()}, SMALL));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("loss "), "progress shows the loss: " + r.err());
        assertTrue(r.err().contains("it/s") || r.err().contains("s/it"), r.err());
        assertTrue(r.out().contains("last loss") && r.out().contains(out.resolve("unet").toString()), r.out());

        JsonNode cfg = Json.read(out.resolve("unet/config.json"));
        assertEquals("UNet3DConditionModel", cfg.path("_class_name").asText());
        try (Weights w = CheckpointDir.unetFolder(out)) {
            assertTrue(w.names().stream().anyMatch(n -> n.contains(".attn_temp.")), "temporal layers saved");
            assertTrue(w.names().stream().anyMatch(n -> n.endsWith("attn1.to_q.weight")), "tuned layers saved");
        }
        for (String c : List.of("checkpoint-1", "checkpoint-2")) assertTrue(Files.isRegularFile(out.resolve(c).resolve("state.json")), c);
        assertNoPartialFiles(out);
        Path inv = out.resolve("inv_latents/ddim_latent-2.safetensors");
        assertTrue(Files.isRegularFile(out.resolve("samples/sample-2/a cat is skiing.gif")));
        assertTrue(Files.isRegularFile(inv));

        // edit from the inverted latents of the tuning run → GIF; from the video (inverted here) → MP4 + grid
        Path gif = dir.resolve("edit.gif");
        r = Tav.run("edit", "--model", model.toString(), "--tuned", out.toString(), "--prompt", "a cat is skiing", "--steps", "2",
                "--latents", inv.toString(), "--out", gif.toString());
        assertEquals(0, r.code(), r.err());
        assertGif(gif, 2, 64, 64);

        Path mp4 = dir.resolve("edit.mp4"), grid = dir.resolve("grid.gif");
        r = Tav.run(args(new String[]{"edit", "--model", model.toString(), "--tuned", out.resolve("unet").toString(), "--prompt", "a cat is skiing",
                "--steps", "2", "--inv-steps", "2", "--video", video.toString(), "--grid", grid.toString(), "--out", mp4.toString()}, SMALL));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("DDIM inversion"), r.out());
        VideoClip back = VideoReader.read(mp4, new VideoSampling(64, 64, 2, 0, 1));
        assertEquals(2, back.sourceFrameCount(), "the MP4 holds the edited frames");
        assertGif(grid, 2, 2 * 64 + 3 * 2, 64 + 2 * 2);

        // neither latents nor video: seeded noise, the size from the flags
        Path noise = dir.resolve("noise.gif");
        r = Tav.run("edit", "--model", model.toString(), "--tuned", out.toString(), "--prompt", "a cat is skiing", "--steps", "1",
                "--seed", "3", "--frames", "3", "--height", "48", "--width", "64", "--out", noise.toString());
        assertEquals(0, r.code(), r.err());
        assertGif(noise, 3, 64, 48);
    }

    @Test
    void runTakesAnOfficialConfigUnchanged(@TempDir Path dir) throws Exception {
        Path model = Tav.tinyModel(), video = Tav.video("man-skiing.mp4"), out = dir.resolve("outputs/man-skiing");
        Path yaml = dir.resolve("man-skiing.yaml");
        Files.writeString(yaml, """
                pretrained_model_path: "%s"
                output_dir: "%s"

                train_data:
                  video_path: "%s"
                  prompt: "a man is skiing"
                  n_sample_frames: 2
                  width: 64
                  height: 64
                  sample_start_idx: 0
                  sample_frame_rate: 2

                validation_data:
                  prompts:
                    - "mickey mouse is skiing on the snow"
                  video_length: 2
                  width: 64
                  height: 64
                  num_inference_steps: 2
                  guidance_scale: 12.5
                  use_inv_latent: True
                  num_inv_steps: 2

                learning_rate: 3e-5
                train_batch_size: 1
                max_train_steps: 2
                checkpointing_steps: 1
                validation_steps: 2
                trainable_modules:
                  - "attn1.to_q"
                  - "attn2.to_q"
                  - "attn_temp"

                seed: 33
                mixed_precision: fp16
                use_8bit_adam: False
                gradient_checkpointing: True
                enable_xformers_memory_efficient_attention: True
                my_own_setting: 7
                """.formatted(Tav.relative(model), Tav.relative(out), Tav.relative(video)));
        Tav.Run r = Tav.run("run", Tav.relative(yaml));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("my_own_setting"), "unknown key named: " + r.err());
        assertTrue(r.err().contains("mixed_precision fp16") && r.err().contains("computes in fp32 only"), r.err());
        assertTrue(r.err().contains("lr 3.00e-05"), "3e-5 read as a number: " + r.err());
        assertTrue(r.err().contains("indices [0, 2]"), "sample_frame_rate applied: " + r.err());
        assertEquals("UNet3DConditionModel", Json.read(out.resolve("unet/config.json")).path("_class_name").asText());
        assertTrue(Files.isRegularFile(out.resolve("samples/sample-2/mickey mouse is skiing on the snow.gif")));
        assertTrue(Files.isRegularFile(out.resolve("samples/sample-2.gif")));
        assertTrue(Files.isRegularFile(out.resolve("inv_latents/ddim_latent-2.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("checkpoint-2/state.json")));
        assertEquals(Files.readString(yaml), Files.readString(out.resolve("config.yaml")), "the config is kept with the outputs");
        assertTrue(r.out().contains("time:") && r.out().contains("load checkpoint"), r.out());
    }

    /** A run cancelled after 3 of 4 steps keeps only complete folders; --resume ends where an uninterrupted run does. */
    @Test
    void interruptedRunResumesToTheSameParameters(@TempDir Path dir) throws Exception {
        Path model = Tav.tinyModel(), video = Tav.video("man-skiing.mp4");
        Path full = dir.resolve("full"), cut = dir.resolve("cut");
        String[] common = args(new String[]{"tune", "--model", model.toString(), "--video", video.toString(), "--prompt", "a man is skiing",
                "--steps", "4", "--checkpoint-every", "2", "--seed", "7"}, SMALL);
        Tav.Run r = Tav.run(args(common, "--out", full.toString()));
        assertEquals(0, r.code(), r.err());

        TuneLauncher.cancelAfterTuneSteps = 3;
        try {
            r = Tav.run(args(common, "--out", cut.toString()));
        } finally {
            TuneLauncher.cancelAfterTuneSteps = -1;
        }
        assertEquals(TuneLauncher.CANCELLED, r.code(), r.err());
        assertTrue(r.err().contains("cancelled after step 3") && r.err().contains("checkpoint-2") && r.err().contains("--resume"), r.err());
        try (Stream<Path> s = Files.list(cut)) {
            assertEquals(List.of("checkpoint-2"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "only the complete checkpoint, no unet/, no .part");
        }

        r = Tav.run(args(common, "--out", cut.toString(), "--resume"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("resuming from") && r.err().contains("checkpoint-2"), r.err());
        assertTrue(r.err().contains(" 3/4") && !r.err().contains(" 1/4"), "only steps 3 and 4 run again: " + r.err());
        assertNoPartialFiles(cut);
        assertSameWeights(full.resolve("unet/diffusion_pytorch_model.safetensors"), cut.resolve("unet/diffusion_pytorch_model.safetensors"), 3e-5);
    }

    /**
     * The same UNet: untouched weights bit for bit; tuned ones within 1e-6 of the largest weight on all but 0.1 % of
     * elements, none further than 4 learning rates. Two identical runs already differ there: the CPU backend's EXP may
     * differ in the last bit between JIT tiers, and AdamW turns a near-zero gradient into ±lr, so a few elements of
     * e.g. attn_temp.to_out.0.bias differ by ~1e-6 after one step (the rule for tuned parameters of docs/semantics.md). A resume
     * that lost the optimizer state, the parameters or the steps' noise moves most tuned elements by ~lr (3e-5).
     */
    static void assertSameWeights(Path a, Path b, double lr) {
        try (SafeTensors x = SafeTensors.open(a); SafeTensors y = SafeTensors.open(b)) {
            assertEquals(x.names(), y.names());
            double max = 0;
            for (String n : x.names()) {
                try (Tensor u = x.loadF32(n)) {
                    for (float f : u.toArray()) max = Math.max(max, Math.abs(f));
                }
            }
            long tunedElements = 0, off = 0;
            double worst = 0;
            for (String n : x.names()) {
                boolean tuned = n.contains("attn1.to_q.") || n.contains("attn2.to_q.") || n.contains(".attn_temp.");
                try (Tensor u = x.loadF32(n); Tensor v = y.loadF32(n)) {
                    float[] p = u.toArray(), q = v.toArray();
                    for (int i = 0; i < p.length; i++) {
                        double d = Math.abs(p[i] - q[i]);
                        if (!tuned) assertEquals(p[i], q[i], n + "[" + i + "] is not tuned and must be identical");
                        if (d > 1e-6 * max) off++;
                        worst = Math.max(worst, d);
                    }
                    if (tuned) tunedElements += p.length;
                }
            }
            assertTrue(tunedElements > 0, "tuned weights were compared");
            assertTrue(off <= tunedElements / 1000, off + " of " + tunedElements + " tuned elements differ by more than 1e-6 × " + max);
            assertTrue(worst <= 4 * lr, "largest difference " + worst + " > 4 lr");
        }
    }

    static void assertNoPartialFiles(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> partial = s.filter(p -> p.getFileName().toString().startsWith(".") || p.toString().endsWith(".part")).toList();
            assertTrue(partial.isEmpty(), "left behind: " + partial);
        }
    }

    static void assertGif(Path gif, int frames, int width, int height) throws Exception {
        ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
        try (var in = ImageIO.createImageInputStream(gif.toFile())) {
            reader.setInput(in);
            assertEquals(frames, reader.getNumImages(true), gif + " frames");
            assertEquals(width, reader.read(0).getWidth(), gif + " width");
            assertEquals(height, reader.read(0).getHeight(), gif + " height");
        } finally {
            reader.dispose();
        }
        assertFalse(Files.size(gif) == 0);
    }
}
