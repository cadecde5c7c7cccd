package dev.tav4j.cli;

import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tav command end to end on the golden tiny checkpoint (CPU backend), and its errors. */
class CliTest {
    private record Run(int code, String out, String err) {}

    private static Run tav(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private static Path tinyModel() {
        return Tav.tinyModel();
    }

    @Test
    void infoListsTheCpuBackend() {
        Run r = tav("info");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("cpu") && r.out.contains("available"), r.out);
    }

    @Test
    void generateWritesAnAnimatedGif(@TempDir Path dir) throws Exception {
        Path model = tinyModel();
        Path gif = dir.resolve("out.gif");
        Run r = tav("generate", "--model", model.toString(), "--unet", model.resolveSibling("tiny-tuned-a").toString(),
                "--prompt", "a man is skiing", "--frames", "3", "--height", "64", "--width", "48", "--seed", "5", "--steps", "2", "--out", gif.toString());
        assertEquals(0, r.code, r.err);
        ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
        reader.setInput(ImageIO.createImageInputStream(gif.toFile()));
        assertEquals(3, reader.getNumImages(true));
        assertEquals(48, reader.read(0).getWidth());
        assertEquals(64, reader.read(0).getHeight());
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void generateFromLatentsFileChecksItsShape(@TempDir Path dir) throws Exception {
        Path model = tinyModel();
        Path lat = dir.resolve("lat.safetensors");
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (Tensor t = Tensor.zeros(1, 4, 2, 8, 8)) {
            m.put("latents", t);
            SafeTensorsWriter.write(lat, m, Map.of());
        }
        Path gif = dir.resolve("bad.gif");
        Run r = tav("generate", "--model", model.toString(), "--prompt", "x", "--frames", "3", "--height", "64", "--width", "64",
                "--latents", lat.toString(), "--steps", "1", "--out", gif.toString());
        assertEquals(1, r.code);
        assertTrue(r.err.contains("lat.safetensors") && r.err.contains("[1, 4, 2, 8, 8]") && r.err.contains("[1, 4, 3, 8, 8]"), r.err);
        assertFalse(Files.exists(gif), "no output on failure");
    }

    @Test
    void aRunThatCannotFitInHostMemoryIsRefusedBeforeLoading(@TempDir Path dir) {
        Path gif = dir.resolve("big.gif");
        long t0 = System.nanoTime();
        Run r = tav("generate", "--model", tinyModel().toString(), "--prompt", "x", "--frames", "100000", "--height", "512",
                "--width", "512", "--seed", "1", "--out", gif.toString());
        assertEquals(1, r.code, r.err);
        String[] lines = r.err.strip().split("\n");
        String line = lines[lines.length - 1];  // after the backend's own line
        assertTrue(line.startsWith("tav: not enough memory") && line.contains("100000 frames") && line.contains("available"), r.err);
        assertFalse(r.err.contains("Exception") || r.err.contains("\tat "), "no stack trace: " + r.err);
        assertFalse((r.out + r.err).contains("loaded in"), "refused before loading: " + r.err);
        assertFalse(Files.exists(gif));
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "refused up front, not after computing");
    }

    @Test
    void generateReportsLoadTimesAndPeakMemory(@TempDir Path dir) {
        Run r = tav("generate", "--model", tinyModel().toString(), "--prompt", "x", "--frames", "2", "--height", "64",
                "--width", "64", "--seed", "1", "--steps", "1", "--out", dir.resolve("o.gif").toString());
        assertEquals(0, r.code, r.err);
        assertTrue(r.err.matches("(?s).*loaded in [0-9.]+ s \\(text encoder [0-9.]+ s, VAE [0-9.]+ s, UNet [0-9.]+ s\\).*"), r.err);
        assertTrue(r.err.matches("(?s).*memory: about [0-9.]+ [MG]iB \\(weights .*available.*"), r.err);
        if (System.getProperty("os.name").startsWith("Linux"))
            assertTrue(r.err.matches("(?s).*peak RSS [0-9]+ MiB \\(weights [0-9]+ MiB as F32, host tensors [0-9]+ MiB at most\\).*"), r.err);
    }

    @Test
    void generateRejectsSizesNotMultipleOf8(@TempDir Path dir) {
        Run r = tav("generate", "--model", dir.toString(), "--prompt", "x", "--height", "60", "--width", "64", "--seed", "1",
                "--out", dir.resolve("o.gif").toString());
        assertEquals(1, r.code);
        assertTrue(r.err.contains("multiples of 8"), r.err);
    }

    @Test
    void missingCheckpointIsAClearError(@TempDir Path dir) {
        Run r = tav("generate", "--model", dir.resolve("nope").toString(), "--prompt", "x", "--height", "64", "--width", "64",
                "--seed", "1", "--out", dir.resolve("o.gif").toString());
        assertEquals(1, r.code);
        assertTrue(r.err.contains("nope"), r.err);
    }

    @Test
    void benchUnetEndsWithOneJsonLine() {
        Run r = tav("bench", "unet", "--frames", "2", "--latent", "8", "--steps", "1");
        assertEquals(0, r.code, r.err);
        String[] lines = r.out.strip().split("\n");
        String last = lines[lines.length - 1];
        assertTrue(last.startsWith("{\"bench\":\"unet\"") && last.contains("\"seconds_per_step\":") && last.endsWith("}"), last);
    }

    @Test
    void benchTuneEndsWithOneJsonLine() {
        Run r = tav("bench", "tune", "--frames", "2", "--latent", "8", "--steps", "1", "--no-checkpointing");
        assertEquals(0, r.code, r.err);
        String[] lines = r.out.strip().split("\n");
        String last = lines[lines.length - 1];
        assertTrue(last.startsWith("{\"bench\":\"tune\"") && last.contains("\"gradient_checkpointing\":false")
                && last.contains("\"peak_host_bytes\":") && last.endsWith("}"), last);
    }
}
