package dev.tav4j.cli;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 15's full-size test: a checkpoint at real Stable Diffusion size, laid out as the hub ships it (real config
 * files, real tensor names and shapes, random weights), goes through {@code tav generate} in a separate JVM started
 * with exactly the launcher's flags and the JVM's default heap and direct-memory limits: SD 1.5 (F32) base and with
 * a tuned UNet3D ({@code --unet}), SD 2.1 (F16, OpenCLIP ViT-H text tower, linear projections, v-prediction) base
 * and tuned.
 * Checks exit status, output, the GIF, and peak memory ({@code peak RSS N MiB} printed by tav generate) against
 * the weights' F32 size; the memory checks run after every case of a flavour so one report shows them all. Each
 * flavour has its own repacked-weights cache: the first runs write it, and a third SD 1.5 run maps it and must give
 * the same video. One denoising step per run keeps the whole test at a few minutes; the step count changes nothing
 * about loading or memory.
 * <p>
 * The child JVM runs {@code dev.tav4j.cli.Main} on this module's runtime classpath rather than {@code -jar tav.jar}:
 * the test then runs in {@code mvn test} like every other test (single-test runs included) without depending on
 * the shade step; the jar's manifest attributes (native access, java.lang opens) are passed as flags instead.
 */
@Tag("fullsize")
class FullSizeGenerateTest {
    private static final long GIB = 1L << 30;
    private static final long MIN_FREE_DISK = 12 * GIB;
    private static final Pattern PEAK_RSS = Pattern.compile("peak RSS (\\d+) MiB");
    /** The JVM, its code and the activations at 64×64: the allowance over the weights. */
    private static final long OVERHEAD = GIB;

    @Test
    void sd15BaseAndTuned() throws Exception {
        run(FullSizeCheckpoint.Flavour.SD15, true);
    }

    @Test
    void sd21BaseAndTuned() throws Exception {
        run(FullSizeCheckpoint.Flavour.SD21, true);
    }

    private static void run(FullSizeCheckpoint.Flavour f, boolean tunedToo) throws Exception {
        Path tokenizer = Tav.tinyModel().resolve("tokenizer");
        Path target = Files.createDirectories(Path.of("target"));
        long free = Files.getFileStore(target).getUsableSpace();
        if (free < MIN_FREE_DISK)
            fail(String.format("full-size test needs %d GiB free disk under %s for its checkpoints, found %.1f GiB",
                    MIN_FREE_DISK / GIB, target.toAbsolutePath(), free / (double) GIB));
        Path dir = Files.createTempDirectory(target, "fullsize-" + f.dir + "-");
        try {
            Path model = dir.resolve("model"), tuned = dir.resolve("tuned");
            long t0 = System.nanoTime();
            long bytes = FullSizeCheckpoint.writeModel(f, model, tokenizer, 15);
            log(f, "wrote checkpoint (%.2f GB) in %.1f s", bytes / 1e9, secs(t0));
            long common = FullSizeCheckpoint.parameters(f, "text_encoder") + FullSizeCheckpoint.parameters(f, "vae");
            Path cache = dir.resolve("repack-cache");
            List<String> memory = new ArrayList<>();
            memory.add(generate(f, "base", model, null, dir.resolve("base.gif"), cache, 4 * (common + FullSizeCheckpoint.parameters(f, "unet"))));
            if (tunedToo) {

                t0 = System.nanoTime();
                bytes = FullSizeCheckpoint.writeTuned(f, tuned, 16);
                log(f, "wrote tuned UNet3D (%.2f GB) in %.1f s", bytes / 1e9, secs(t0));
                // with --unet the checkpoint's own UNet is not loaded: only the tuned one counts
                long tunedBytes = 4 * (common + FullSizeCheckpoint.parameters(f, "unet3d"));
                memory.add(generate(f, "tuned", model, tuned, dir.resolve("tuned.gif"), cache, tunedBytes));
                try (var files = Files.list(cache)) {
                    assertEquals(4, files.filter(p -> p.toString().endsWith(".safetensors")).count(),
                            "repacked-weights cache: text encoder, VAE, base UNet, tuned UNet");
                }
                if (f == FullSizeCheckpoint.Flavour.SD15) {
                    // the second load of the same files maps the repacked weights the first ones wrote: same video
                    memory.add(generate(f, "tuned-again", model, tuned, dir.resolve("again.gif"), cache, tunedBytes));
                    assertSameVideo(dir.resolve("tuned.gif"), dir.resolve("again.gif"));
                }
            }
            memory.removeIf(Objects::isNull);
            if (!memory.isEmpty()) fail(String.join("\n", memory));
        } finally {
            FullSizeCheckpoint.delete(dir);
        }
    }

    /** Runs one case; a failed run fails at once, a memory problem is returned (null when within the limit). */
    private static String generate(FullSizeCheckpoint.Flavour f, String which, Path model, Path unet, Path gif,
                                 Path repackCache, long weightBytesF32) throws Exception {
        List<String> cmd = ChildJvm.command("generate", "--model", model.toString(), "--prompt", "a man is skiing on the snow",
                "--frames", "2", "--height", "64", "--width", "64", "--steps", "1", "--seed", "3", "--out", gif.toString());
        if (unet != null) cmd.addAll(List.of("--unet", unet.toString()));
        Path log = gif.resolveSibling(which + ".log"); // a file, so a hung child cannot block the timeout below
        ProcessBuilder pb = ChildJvm.builder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("TAV_REPACK_CACHE", repackCache.toString());
        long t0 = System.nanoTime();
        Process p = pb.start();
        Path status = Path.of("/proc", Long.toString(p.pid()), "status");
        long sampled = 0; // VmHWM seen from outside, for the log: the child's own line is what is checked
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (p.isAlive() && System.nanoTime() < deadline) {
            sampled = Math.max(sampled, vmHwmKib(status));
            p.waitFor(100, TimeUnit.MILLISECONDS);
        }
        if (!p.waitFor(0, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            fail(f.dir + " " + which + ": tav generate did not finish in 10 minutes:\n" + Files.readString(log));
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        log(f, "generate %s: exit %d in %.1f s, VmHWM sampled from outside %d MiB%n%s", which, p.exitValue(), secs(t0),
                sampled >> 10, out.strip().indent(4).stripTrailing());
        String what = f.dir + " " + which + " (tav generate --model " + model + (unet != null ? " --unet " + unet : "") + ")";
        assertEquals(0, p.exitValue(), what + " failed:\n" + out);
        assertFalse(out.contains("Exception") || out.contains("OutOfMemoryError"), what + " printed an exception:\n" + out);
        checkGif(gif, what);

        Matcher m = PEAK_RSS.matcher(out);
        if (!m.find())
            return what + ": no 'peak RSS <N> MiB' line in tav generate's output, so its memory use cannot be checked "
                    + "(the line comes with issue 15's memory fix)";
        long peak = Long.parseLong(m.group(1)) << 20;
        long limit = (long) (1.3 * weightBytesF32) + OVERHEAD;
        log(f, "generate %s: peak RSS %d MiB, limit %d MiB (1.3 × %d MiB of F32 weights + %d MiB)", which,
                peak >> 20, limit >> 20, weightBytesF32 >> 20, OVERHEAD >> 20);
        return peak <= limit ? null : String.format("%s: peak RSS %d MiB is over %d MiB (1.3 × %d MiB of weights as F32 + %d MiB)",
                what, peak >> 20, limit >> 20, weightBytesF32 >> 20, OVERHEAD >> 20);
    }

    /** Two 64×64 frames that decode, and not one flat colour. */
    /** The two GIFs show the same frames (the CPU's lane reductions may round differently run to run: within a level). */
    private static void assertSameVideo(Path a, Path b) throws IOException {
        ImageReader ra = ImageIO.getImageReadersByFormatName("gif").next(), rb = ImageIO.getImageReadersByFormatName("gif").next();
        try (ImageInputStream ia = ImageIO.createImageInputStream(a.toFile()); ImageInputStream ib = ImageIO.createImageInputStream(b.toFile())) {
            ra.setInput(ia);
            rb.setInput(ib);
            assertEquals(ra.getNumImages(true), rb.getNumImages(true));
            for (int k = 0; k < ra.getNumImages(true); k++) {
                BufferedImage x = ra.read(k), y = rb.read(k);
                long sum = 0;
                for (int i = 0; i < x.getWidth(); i++)
                    for (int j = 0; j < x.getHeight(); j++)
                        for (int sh = 0; sh < 24; sh += 8) sum += Math.abs(((x.getRGB(i, j) >> sh) & 255) - ((y.getRGB(i, j) >> sh) & 255));
                double mean = sum / (3.0 * x.getWidth() * x.getHeight());
                assertTrue(mean < 1, "frame " + k + " differs by " + mean + " levels on average between " + a + " and " + b);
            }
        } finally {
            ra.dispose();
            rb.dispose();
        }
    }

    private static void checkGif(Path gif, String what) throws IOException {
        assertTrue(Files.isRegularFile(gif), what + ": no GIF written at " + gif);
        List<BufferedImage> frames = new ArrayList<>();
        try (ImageInputStream in = ImageIO.createImageInputStream(gif.toFile())) {
            ImageReader r = ImageIO.getImageReadersByFormatName("gif").next();
            r.setInput(in);
            for (int i = 0; i < r.getNumImages(true); i++) frames.add(r.read(i));
            r.dispose();
        }
        assertEquals(2, frames.size(), what + ": frames in the GIF");
        int first = frames.getFirst().getRGB(0, 0);
        boolean varied = false;
        for (BufferedImage img : frames) {
            assertEquals(64, img.getWidth(), what + ": frame width");
            assertEquals(64, img.getHeight(), what + ": frame height");
            for (int y = 0; y < 64 && !varied; y++)
                for (int x = 0; x < 64 && !varied; x++) varied = img.getRGB(x, y) != first;
        }
        assertTrue(varied, what + ": every pixel of the GIF is the same colour");
    }

    /** VmHWM of /proc/PID/status in KiB; 0 where there is no such file (not Linux, or the process is gone). */
    private static long vmHwmKib(Path status) {
        try {
            for (String line : Files.readAllLines(status))
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        } catch (IOException | RuntimeException e) {
            // gone between the check and the read
        }
        return 0;
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void log(FullSizeCheckpoint.Flavour f, String fmt, Object... args) {
        System.out.println("[fullsize " + f.dir + "] " + String.format(Locale.ROOT, fmt, args));
    }
}
