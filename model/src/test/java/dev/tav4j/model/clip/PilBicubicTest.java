package dev.tav4j.model.clip;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PilBicubic} against Pillow itself (bytes Pillow 9.4 wrote, scripts/clip/pil-bicubic-fixture.py: shrink,
 * strong shrink, enlarge, one axis only, clipping of overshoot) and against an independent plain double-precision
 * loop of the same kernel (a = −0.5, support widened by the scale when shrinking) without Pillow's fixed point and
 * intermediate 8-bit rounding.
 */
class PilBicubicTest {
    static final int W = 61, H = 47;

    /** The fixture script's source image: hash noise on the left half, gradients with hard-edged blocks on the right. */
    static byte[] source() {
        byte[] b = new byte[W * H * 3];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++) {
                    int v;
                    if (x < W / 2) {
                        long h = ((x * 73856093L) ^ (y * 19349663L) ^ (c * 83492791L)) & 0xFFFFFFFFL;
                        v = (int) ((h >> 11) & 255);
                    } else {
                        v = (x * 4 + y * 3 + c * 40) & 255;
                        if ((x / 5 + y / 7) % 2 == 1) v = 255 - v;
                    }
                    b[(y * W + x) * 3 + c] = (byte) v;
                }
        return b;
    }

    @Test void matchesPillowBitForBit() throws IOException {
        List<String> lines;
        try (InputStream in = PilBicubicTest.class.getResourceAsStream("pil-bicubic.txt")) {
            assertNotNull(in, "pil-bicubic.txt on the test classpath");
            lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.startsWith("#") && !l.isBlank()).toList();
        }
        assertEquals(6, lines.size(), "fixture cases");
        byte[] src = source();
        for (String line : lines) {
            String[] parts = line.split(" ");
            String[] wh = parts[0].split("x");
            int w = Integer.parseInt(wh[0]), h = Integer.parseInt(wh[1]);
            byte[] want = Base64.getDecoder().decode(parts[1]);
            byte[] got = PilBicubic.resize(src, W, H, w, h);
            assertEquals(want.length, got.length, parts[0]);
            for (int i = 0; i < want.length; i++) {
                int at = i;
                assertEquals(want[i] & 255, got[i] & 255, () -> parts[0] + ": pixel (" + (at / 3 % w) + ", " + (at / 3 / w) + ") channel " + at % 3);
            }
        }
    }

    /** A smooth image (no overshoot past 0..255) at a real video's size to CLIP's shortest side and to LOVEU's 480×480. */
    @Test void withinOneLevelOfAPlainDoubleLoop() {
        int w = 240, h = 180;
        byte[] src = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) {
                    double v = 127.5 + 90 * Math.sin(x * 0.07 + c) * Math.cos(y * 0.05 - c) + 20 * Math.sin((x + y) * 0.31);
                    src[(y * w + x) * 3 + c] = (byte) Math.round(v);
                }
        for (int[] size : new int[][]{{74, 56}, {29, 22}, {480, 480}, {240, 97}, {131, 180}}) {
            byte[] got = PilBicubic.resize(src, w, h, size[0], size[1]);
            double[] ref = reference(src, w, h, size[0], size[1]);
            int worst = 0;
            long sum = 0;
            for (int i = 0; i < ref.length; i++) {
                int d = Math.abs((got[i] & 255) - (int) Math.round(Math.max(0, Math.min(255, ref[i]))));
                worst = Math.max(worst, d);
                sum += d;
            }
            assertTrue(worst <= 1, size[0] + "x" + size[1] + ": max difference " + worst + " levels");
            assertTrue(sum < 0.3 * ref.length, size[0] + "x" + size[1] + ": mean difference " + (double) sum / ref.length);
        }
    }

    @Test void constantStaysConstantAndSameSizeIsACopy() {
        byte[] grey = new byte[13 * 9 * 3];
        java.util.Arrays.fill(grey, (byte) 200);
        byte[] out = PilBicubic.resize(grey, 13, 9, 5, 21);
        for (byte b : out) assertEquals(200, b & 255);
        byte[] src = source();
        byte[] same = PilBicubic.resize(src, W, H, W, H);
        assertArrayEquals(src, same);
        assertTrue(same != src, "a copy");
    }

    @Test void refusesBadSizes() {
        assertThrows(IllegalArgumentException.class, () -> PilBicubic.resize(new byte[12], 2, 2, 0, 3));
        assertThrows(IllegalArgumentException.class, () -> PilBicubic.resize(new byte[11], 2, 2, 1, 1));
    }

    /** Separable cubic convolution in double over every source pixel, weights normalised per output pixel. */
    static double[] reference(byte[] src, int w, int h, int nw, int nh) {
        double[][] kx = weights(w, nw), ky = weights(h, nh);
        double[] out = new double[nw * nh * 3];
        for (int yy = 0; yy < nh; yy++)
            for (int xx = 0; xx < nw; xx++)
                for (int c = 0; c < 3; c++) {
                    double s = 0;
                    for (int y = 0; y < h; y++) {
                        if (ky[yy][y] == 0) continue;
                        double row = 0;
                        for (int x = 0; x < w; x++) row += kx[xx][x] * (src[(y * w + x) * 3 + c] & 255);
                        s += ky[yy][y] * row;
                    }
                    out[(yy * nw + xx) * 3 + c] = s;
                }
        return out;
    }

    private static double[][] weights(int in, int out) {
        double scale = (double) in / out, fs = Math.max(1, scale);
        double[][] k = new double[out][in];
        for (int o = 0; o < out; o++) {
            double center = (o + 0.5) * scale, sum = 0;
            for (int i = 0; i < in; i++) sum += k[o][i] = cubic((i + 0.5 - center) / fs);
            for (int i = 0; i < in; i++) k[o][i] /= sum;
        }
        return k;
    }

    private static double cubic(double x) {
        double a = -0.5, t = Math.abs(x);
        if (t < 1) return (a + 2) * t * t * t - (a + 3) * t * t + 1;
        if (t < 2) return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a;
        return 0;
    }
}
