package dev.tav4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.clip.ClipMetrics;
import dev.tav4j.model.clip.ClipModel;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.video.GifWriter;
import dev.tav4j.video.VideoReader;
import dev.tav4j.runtime.Backends;
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

/** {@code tav eval} on the golden tiny CLIP: the numbers are ClipMetrics' on the video's frames; bad inputs are one line. */
class EvalCommandTest {
    private static Path tinyClip() {
        return Tav.tinyClip();
    }

    /** A GIF of {@code n} frames of w×h, a pattern that moves with the frame and with {@code seed}. */
    private static Path gif(Path dir, String name, int n, int w, int h, int seed) throws Exception {
        List<BufferedImage> frames = new ArrayList<>();
        for (int f = 0; f < n; f++) {
            BufferedImage im = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    boolean disc = (x - 10 - 6 * f) * (x - 10 - 6 * f) + (y - h / 2) * (y - h / 2) < 64;
                    im.setRGB(x, y, disc ? 0xE02020 + seed * 0x000808 : ((x + seed * 7) & 255) << 8 | (y * 3) & 255);
                }
            frames.add(im);
        }
        Path p = dir.resolve(name);
        GifWriter.write(p, frames, 125);
        return p;
    }

    @Test void scoresVideosAndWritesJson(@TempDir Path tmp) throws Exception {
        Path clip = tinyClip();
        Path a = gif(tmp, "a.gif", 4, 64, 48, 0), b = gif(tmp, "b.gif", 3, 40, 56, 3);
        Path out = tmp.resolve("scores/eval.json");
        String pa = "a red circle is moving right on a blue background", pb = "a red circle";
        Tav.Run r = Tav.run("eval", "--clip", clip.toString(), "--prompt", pa, "--prompt", pb, a.toString(), b.toString(), "--json", out.toString());
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("frame consistency") && r.out().contains("mean of 2 videos"), r.out());
        JsonNode j = Json.read(out);
        assertEquals(2, j.get("videos").size());
        try (ClipModel m = ClipModel.load(Backends.select("cpu"), clip)) {
            double fc = 0, ta = 0;
            for (int i = 0; i < 2; i++) {
                JsonNode v = j.get("videos").get(i);
                ClipMetrics.Scores want = ClipMetrics.evaluate(m, VideoReader.readAll(i == 0 ? a : b), i == 0 ? pa : pb);
                assertEquals(i == 0 ? 4 : 3, v.get("frames").asInt());
                assertEquals(i == 0 ? pa : pb, v.get("prompt").asText());
                assertEquals(want.frameConsistency(), v.get("frame_consistency").asDouble(), 1e-6);
                assertEquals(want.textAlignment(), v.get("text_alignment").asDouble(), 1e-5);
                assertEquals(want.frames(), v.get("logits_per_image").size());
                assertTrue(want.frameConsistency() < 1 - 1e-6, "the frames differ: " + want.frameConsistency());
                fc += want.frameConsistency() / 2;
                ta += want.textAlignment() / 2;
            }
            assertEquals(fc, j.get("mean").get("frame_consistency").asDouble(), 1e-6);
            assertEquals(ta, j.get("mean").get("text_alignment").asDouble(), 1e-5);
        }
        // one prompt for all videos, and LOVEU-TGVE's straight resize first: other numbers, same shape
        Path folder = Files.createDirectories(tmp.resolve("frames"));
        List<BufferedImage> fa = VideoReader.readAll(a);
        for (int i = 0; i < fa.size(); i++) javax.imageio.ImageIO.write(fa.get(i), "png", folder.resolve("f" + i + ".png").toFile());
        Tav.Run pre = Tav.run("eval", "--clip", clip.toString(), "--prompt", pb, "--pre-resize", "480x480", a.toString(), folder.toString());
        assertEquals(0, pre.code(), pre.all());
        List<String> rows = pre.out().lines().filter(l -> l.startsWith(a.toString()) || l.startsWith(folder.toString())).toList();
        assertEquals(2, rows.size(), pre.out());
        // the folder holds the GIF's frames as PNGs: the same scores
        assertEquals(rows.get(0).substring(a.toString().length()).strip(), rows.get(1).substring(folder.toString().length()).strip(), pre.out());
        assertFalse(pre.out().contains(r.out().lines().filter(l -> l.startsWith(a.toString())).findFirst().orElseThrow()),
                "the straight 480x480 resize changes the scores: " + pre.out());
    }

    @Test void badInputsAreOneLine(@TempDir Path tmp) throws Exception {
        Path clip = tinyClip();
        Path ok = gif(tmp, "ok.gif", 2, 32, 32, 1);
        Path junk = tmp.resolve("junk.mp4");
        Files.writeString(junk, "not a video");
        Path one = gif(tmp, "one.gif", 1, 32, 32, 1);
        Path sd = Tav.tinyModel();
        refused(Tav.run("eval", "--clip", tmp.resolve("none").toString(), "--prompt", "x", ok.toString()), true, "none", "not found");
        refused(Tav.run("eval", "--clip", sd.toString(), "--prompt", "x", ok.toString()), true, "tiny-sd-a", "not a CLIP model");
        refused(Tav.run("eval", "--clip", sd.resolve("text_encoder").toString(), "--prompt", "x", ok.toString()), true, "not a CLIP model", "CLIPTextModel");
        refused(Tav.run("eval", "--clip", clip.toString(), "--prompt", "x", junk.toString()), true, "junk.mp4");
        refused(Tav.run("eval", "--clip", clip.toString(), "--prompt", "x", tmp.resolve("gone.mp4").toString()), true, "gone.mp4", "not found");
        refused(Tav.run("eval", "--clip", clip.toString(), "--prompt", "x", one.toString()), false, "one.gif", "at least 2");
        refused(Tav.run("eval", "--clip", clip.toString(), "--prompt", "x", "--prompt", "y", "--prompt", "z", ok.toString(), ok.toString()), true,
                "--prompt", "3 times for 2 videos");
        refused(Tav.run("eval", "--clip", clip.toString(), "--prompt", "x", "--pre-resize", "480", ok.toString()), true, "--pre-resize", "480");
        Tav.Run usage = Tav.run("eval", "--clip", clip.toString(), ok.toString());
        assertEquals(2, usage.code(), usage.all());
        assertTrue(usage.err().contains("--prompt"), usage.err());
    }

    /** Exit 1, one last "tav:" line naming every part, no trace; with upFront, before the model was loaded. */
    private static void refused(Tav.Run r, boolean upFront, String... parts) {
        assertEquals(1, r.code(), r.all());
        String last = r.err().strip().lines().reduce((x, y) -> y).orElse("");
        assertTrue(last.startsWith("tav: "), r.err());
        for (String p : parts) assertTrue(last.contains(p), "'" + p + "' in: " + last);
        assertFalse(r.all().contains("\tat ") || r.all().contains("internal error"), "no trace: " + r.all());
        assertFalse(r.out().contains("mean of"), r.out());
        if (upFront) assertFalse(r.err().contains("loaded"), "refused before loading: " + r.err());
    }
}
