package dev.tav4j.cli;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Comparing written GIFs by their decoded frames. A CPU run is not bit-reproducible from one process or JIT state
 * to the next (the Vector API's lane reductions may round differently), so two runs of the same computation may
 * differ in a pixel's last level, and a GIF's adaptive palette then differs in its bytes: "the same video" means
 * every frame within one level on average; "a different video" means more than that.
 */
final class Gifs {
    private Gifs() {}

    /** Every frame of a and b (same count and size) within one level on average. */
    static void assertSameFrames(Path a, Path b) throws Exception {
        double d = meanDifference(a, b);
        assertTrue(d < 1.0, a + " vs " + b + ": frames differ by " + d + " levels on average");
    }

    /** The frames differ by more than run-to-run noise (over one level on average in some frame). */
    static void assertDifferentFrames(Path a, Path b, String message) throws Exception {
        double d = meanDifference(a, b);
        assertTrue(d >= 1.0, message + " (" + a + " vs " + b + ": " + d + " levels on average)");
    }

    /** The largest per-frame mean absolute difference over all channels, in levels of 255. */
    static double meanDifference(Path a, Path b) throws Exception {
        List<BufferedImage> x = frames(a), y = frames(b);
        assertEquals(x.size(), y.size(), "frame count");
        double worst = 0;
        for (int f = 0; f < x.size(); f++) {
            int w = x.get(f).getWidth(), h = x.get(f).getHeight();
            assertEquals(w, y.get(f).getWidth());
            assertEquals(h, y.get(f).getHeight());
            int[] p = x.get(f).getRGB(0, 0, w, h, null, 0, w), q = y.get(f).getRGB(0, 0, w, h, null, 0, w);
            long sum = 0;
            for (int i = 0; i < p.length; i++)
                for (int sh = 0; sh < 24; sh += 8) sum += Math.abs((p[i] >> sh & 255) - (q[i] >> sh & 255));
            worst = Math.max(worst, sum / (3.0 * p.length));
        }
        return worst;
    }

    static List<BufferedImage> frames(Path gif) throws Exception {
        ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
        try (var in = ImageIO.createImageInputStream(gif.toFile())) {
            reader.setInput(in);
            List<BufferedImage> out = new ArrayList<>();
            for (int i = 0; i < reader.getNumImages(true); i++) out.add(reader.read(i));
            return out;
        } finally {
            reader.dispose();
        }
    }
}
