package dev.tav4j.model.clip;

import dev.tav4j.model.config.ConfigException;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CLIPImageProcessor's steps: the resize rule, the Pillow resize (against Pillow's own bytes), the centre crop's
 * offsets, the rescale and float32 normalisation, and the preprocessor_config.json forms transformers writes.
 */
class ClipImageProcessorTest {
    @Test void shortestSideRule() {
        ClipImageProcessor p = ClipImageProcessor.defaults(224);
        assertArrayEquals(new int[]{224, 297}, p.resizedSize(540, 718));  // int(224 · 718 / 540) = int(297.8)
        assertArrayEquals(new int[]{297, 224}, p.resizedSize(718, 540));
        assertArrayEquals(new int[]{224, 224}, p.resizedSize(718, 718));
        assertArrayEquals(new int[]{224, 224}, p.outputSize(100, 900));
    }

    /** 61×47 → Pillow's 31×24 (the fixture), centre crop 24×24 from column (31 − 24) // 2 = 3, then (x/255 − mean)/std in float32. */
    @Test void wholePipelineOnPillowsResize() throws IOException {
        byte[] pil = fixture("31x24");
        ClipImageProcessor p = ClipImageProcessor.defaults(24);
        float[] got = p.pixelValues(PilBicubicTest.source(), PilBicubicTest.W, PilBicubicTest.H);
        assertEquals(24 * 24 * 3, got.length);
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 24; x++)
                for (int c = 0; c < 3; c++) {
                    int u8 = pil[(y * 31 + x + 3) * 3 + c] & 255;
                    float v = (float) (u8 * (1 / 255.0));
                    float want = (v - ClipImageProcessor.OPENAI_MEAN[c]) / ClipImageProcessor.OPENAI_STD[c];
                    assertEquals(want, got[(y * 24 + x) * 3 + c], 0f, "(" + x + ", " + y + ") channel " + c);
                }
    }

    @Test void imagesToChannelsLastTensor() {
        BufferedImage a = new BufferedImage(30, 20, BufferedImage.TYPE_INT_RGB), b = new BufferedImage(45, 30, BufferedImage.TYPE_INT_RGB);
        a.setRGB(12, 5, 0xFF8040);
        ClipImageProcessor p = new ClipImageProcessor(true, 20, 0, 0, true, 20, 20, true, 1 / 255.0, false, new float[3], new float[]{1, 1, 1});
        try (Tensor t = p.pixelValues(List.of(a, b))) {
            assertArrayEquals(new int[]{2, 20, 20, 3}, t.shape());
            // a is already 20 high: no resize; crop from column (30 − 20) // 2 = 5
            assertEquals((float) (0xFF / 255.0), t.get((5 * 20 + 7) * 3), 0f);
            assertEquals((float) (0x80 / 255.0), t.get((5 * 20 + 7) * 3 + 1), 0f);
            assertEquals((float) (0x40 / 255.0), t.get((5 * 20 + 7) * 3 + 2), 0f);
        }
        ClipImageProcessor noCrop = new ClipImageProcessor(true, 20, 0, 0, false, 0, 0, true, 1 / 255.0, true,
                ClipImageProcessor.OPENAI_MEAN, ClipImageProcessor.OPENAI_STD);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> noCrop.pixelValues(List.of(a, new BufferedImage(20, 30, BufferedImage.TYPE_INT_RGB))));
        assertTrue(e.getMessage().contains("image 1"), e.getMessage());
    }

    @Test void preprocessorConfigForms(@TempDir Path dir) throws IOException {
        assertEquals(ClipImageProcessor.defaults(48).shortestEdge(), ClipImageProcessor.load(dir, 48).shortestEdge());
        // the legacy form of openai/clip-vit-large-patch14
        Files.writeString(dir.resolve("preprocessor_config.json"), """
                {"crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
                 "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.5, 0.25, 0.125],
                 "image_std": [0.5, 0.5, 0.25], "resample": 3, "size": 256}""");
        ClipImageProcessor p = ClipImageProcessor.load(dir, 48);
        assertEquals(256, p.shortestEdge());
        assertEquals(224, p.cropHeight());
        assertEquals(224, p.cropWidth());
        assertArrayEquals(new float[]{0.5f, 0.25f, 0.125f}, p.mean());
        // the current form
        Files.writeString(dir.resolve("preprocessor_config.json"), """
                {"size": {"shortest_edge": 64}, "crop_size": {"height": 60, "width": 62}, "do_rescale": true,
                 "rescale_factor": 0.00392156862745098}""");
        p = ClipImageProcessor.load(dir, 48);
        assertEquals(64, p.shortestEdge());
        assertEquals(60, p.cropHeight());
        assertEquals(62, p.cropWidth());
        assertArrayEquals(ClipImageProcessor.OPENAI_STD, p.std());
        Files.writeString(dir.resolve("preprocessor_config.json"), "{\"resample\": 2}");
        ConfigException e = assertThrows(ConfigException.class, () -> ClipImageProcessor.load(dir, 48));
        assertTrue(e.getMessage().contains("preprocessor_config.json") && e.getMessage().contains("resample"), e.getMessage());
        Files.writeString(dir.resolve("preprocessor_config.json"), "{\"image_mean\": [0.5, 0.5]}");
        e = assertThrows(ConfigException.class, () -> ClipImageProcessor.load(dir, 48));
        assertTrue(e.getMessage().contains("image_mean"), e.getMessage());
    }

    static byte[] fixture(String size) throws IOException {
        try (InputStream in = ClipImageProcessorTest.class.getResourceAsStream("pil-bicubic.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList())
                if (line.startsWith(size + " ")) return Base64.getDecoder().decode(line.substring(size.length() + 1));
        }
        throw new IllegalStateException("no " + size + " in pil-bicubic.txt");
    }
}
