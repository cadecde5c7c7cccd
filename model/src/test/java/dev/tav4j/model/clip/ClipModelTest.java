package dev.tav4j.model.clip;

import dev.tav4j.model.config.ClipModelConfig;
import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.golden.GoldenData;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading a CLIPModel folder (the golden tiny-clip-a), its one-line errors, and the metrics from images. */
class ClipModelTest {
    private final Ops ops = Backends.select("cpu");

    private static Path tinyClip() { return GoldenData.model("tiny-clip-a"); }

    @Test void configOfTinyClip() {
        ClipModelConfig cfg = ClipModel.check(tinyClip());
        assertEquals(16, cfg.projectionDim());
        assertEquals(32, cfg.text().hiddenSize());
        assertEquals(64, cfg.vision().hiddenSize());
        assertEquals(48, cfg.vision().imageSize());
        assertEquals(10, cfg.vision().tokens());
    }

    @Test void refusesWhatIsNotACLIPModel(@TempDir Path tmp) throws IOException {
        assertMessage(() -> ClipModel.check(tmp.resolve("nope")), "nope", "not found");
        // a Stable Diffusion folder: no config.json at its root
        assertMessage(() -> ClipModel.check(GoldenData.models().resolve("tiny-sd-a")), "tiny-sd-a", "diffusers pipeline folder", "not a CLIP model");
        // a CLIP text encoder alone
        assertMessage(() -> ClipModel.check(GoldenData.models().resolve("tiny-sd-a/text_encoder")), "not a CLIP model", "CLIPTextModel");
        Path bad = Files.createDirectories(tmp.resolve("bad"));
        Files.writeString(bad.resolve("config.json"), "{\"model_type\": \"clip\", \"vision_config\": [1]}");
        assertMessage(() -> ClipModel.check(bad), "config.json", "vision_config");
        Files.writeString(bad.resolve("config.json"), "{\"model_type\": \"clip\"");
        assertMessage(() -> ClipModel.check(bad), "config.json", "not valid JSON");
        // a valid config without tokenizer, then without weights
        Path noTok = Files.createDirectories(tmp.resolve("notok"));
        Files.copy(tinyClip().resolve("config.json"), noTok.resolve("config.json"));
        assertMessage(() -> ClipModel.check(noTok), "vocab.json", "tokenizer");
        for (String f : List.of("vocab.json", "merges.txt")) Files.copy(tinyClip().resolve("tokenizer").resolve(f), noTok.resolve(f));
        ClipModel.check(noTok);  // tokenizer files beside config.json, as transformers saves them
        assertMessage(() -> ClipModel.load(ops, noTok), "notok", "no weights");
    }

    @Test void textConfigDictOverrides() {
        var n = dev.tav4j.model.config.Json.MAPPER.createObjectNode().put("model_type", "clip");
        n.putObject("text_config").put("hidden_size", 32).put("intermediate_size", 64).put("num_attention_heads", 2);
        n.putObject("text_config_dict").put("hidden_size", 48);
        ClipModelConfig cfg = ClipModelConfig.parse(n, "x");
        assertEquals(48, cfg.text().hiddenSize());
        assertEquals(12, cfg.text().layers());       // transformers' default
        assertEquals(32, cfg.vision().patchSize());  // vision_config absent: transformers' CLIPVisionConfig
        assertEquals(512, cfg.projectionDim());
    }

    /** Frames as images → metrics; the same frames give consistency 1, and the embeddings are those of pixel_values. */
    @Test void metricsFromImages() {
        try (ClipModel m = ClipModel.load(ops, tinyClip())) {
            List<BufferedImage> frames = new ArrayList<>();
            for (int f = 0; f < 3; f++) {
                BufferedImage im = new BufferedImage(64, 52, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 52; y++)
                    for (int x = 0; x < 64; x++) im.setRGB(x, y, ((x * 4 + f * 60) & 255) << 16 | ((y * 5) & 255) << 8 | (x * y + f * 17) & 255);
                frames.add(im);
            }
            ClipMetrics.Scores s = ClipMetrics.evaluate(m, frames, "a red circle is moving right on a blue background");
            assertEquals(3, s.frames());
            assertTrue(s.frameConsistency() > -1 && s.frameConsistency() < 1 - 1e-6, "distinct frames: " + s.frameConsistency());
            ClipMetrics.Scores same = ClipMetrics.evaluate(m, List.of(frames.get(1), frames.get(1)), "a red circle");
            assertEquals(1.0, same.frameConsistency(), 1e-6);
            // imageEmbeds(images) = the vision tower on the processor's pixel_values
            float[][] direct;
            try (Tensor px = m.processor().pixelValues(frames)) {
                assertArrayEquals(new int[]{3, 48, 48, 3}, px.shape());
                direct = m.imageEmbeds(px);
            }
            float[][] viaImages = m.imageEmbeds(frames);
            for (int i = 0; i < 3; i++) assertArrayEquals(direct[i], viaImages[i], 0f);
            // the tower refuses pixel values of another size
            try (Tensor wrong = Tensor.host(1, 32, 32, 3)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.imageEmbeds(wrong));
                assertTrue(e.getMessage().contains("48"), e.getMessage());
            }
        }
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable run, String... parts) {
        RuntimeException e = assertThrows(RuntimeException.class, run);
        assertTrue(e instanceof ConfigException || e instanceof IllegalArgumentException, e.toString());
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' in: " + e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
    }
}
