package dev.tav4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 12: FFmpeg's own log lines never reach the user at default verbosity. FFmpeg writes them from native code
 * straight to file descriptor 2, past System.err, so each case runs tav in a child JVM and reads its real stderr.
 */
class FfmpegQuietTest {
    /** A line of FFmpeg's log: "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x7f…] moov atom not found", "[h264 @ 0x…] …". */
    private static final Pattern FFMPEG_LINE = Pattern.compile("^\\[[^\\]]+ @ 0x[0-9a-f]+\\].*");
    /** What a refused run may print: its own one-line formats, and the JVM's note that the Vector API is an incubator module. */
    private static final Pattern OWN_LINE = Pattern.compile("^(tav|warning|note): .*|^WARNING: Using incubator modules: jdk\\.incubator\\.vector$");

    /** The first half of a clip: car-turn keeps its index in front (decoding fails), man-skiing at the end (no index). */
    private static Path halfOf(Path dir, String clip) throws Exception {
        byte[] bytes = Files.readAllBytes(Tav.video(clip));
        return Files.write(dir.resolve("half-" + clip), Arrays.copyOf(bytes, bytes.length / 2));
    }

    private static String stderrOf(Path dir, String... args) throws Exception {
        Path err = dir.resolve("stderr.txt");
        Process p = ChildJvm.builder(ChildJvm.command(args)).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(err.toFile()).start();
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "child finished");
        assertEquals(1, p.exitValue(), Files.readString(err));
        return Files.readString(err, StandardCharsets.UTF_8);
    }

    private static void onlyOwnLines(String stderr, Path video) {
        List<String> lines = stderr.strip().lines().toList();
        assertFalse(lines.stream().anyMatch(l -> FFMPEG_LINE.matcher(l).matches()), "no FFmpeg log lines:\n" + stderr);
        for (String l : lines) assertTrue(OWN_LINE.matcher(l).matches(), "only tav's own lines, not '" + l + "':\n" + stderr);
        assertTrue(lines.getLast().startsWith("tav: ") && lines.getLast().contains(video.getFileName().toString()), stderr);
    }

    @Test
    void aDamagedVideoGivesOneTavLineAndNothingFromFfmpeg(@TempDir Path dir) throws Exception {
        Path model = Tav.tinyModel(), tuned = model.resolveSibling("tiny-tuned-a");
        for (String clip : List.of("car-turn.mp4", "man-skiing.mp4")) {
            Path video = halfOf(dir, clip);
            onlyOwnLines(stderrOf(dir, "edit", "--model", model.toString(), "--tuned", tuned.toString(), "--prompt", "x",
                    "--frames", "2", "--height", "64", "--width", "64", "--steps", "1", "--video", video.toString(),
                    "--out", dir.resolve("e.gif").toString()), video);
        }
        Path video = halfOf(dir, "car-turn.mp4");
        onlyOwnLines(stderrOf(dir, "tune", "--model", model.toString(), "--video", video.toString(), "--prompt", "x",
                "--frames", "2", "--height", "64", "--width", "64", "--steps", "1", "--out", dir.resolve("t").toString()), video);
    }
}
