package dev.tav4j.model.nn;

import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The blocked repacking against the element-by-element definition, on shapes with partial tiles. */
class HostLayoutTest {
    private static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.host(shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) r.nextDouble(-1, 1));
        return t;
    }

    @Test
    void transposeMatchesTheDefinition() {
        int[][] shapes = {{1, 1}, {1, 70}, {33, 70}, {64, 5}, {100, 129}};
        for (int[] s : shapes) {
            int rows = s[0], cols = s[1];
            try (Tensor w = random(rows * 31L + cols, rows, cols); Tensor t = HostLayout.transpose(w, rows, cols)) {
                float[] want = new float[rows * cols], a = w.toArray();
                for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) want[c * rows + r] = a[r * cols + c];
                assertArrayEquals(want, t.toArray(), rows + "x" + cols);
            }
        }
    }

    @Test
    void convRepackMatchesTheDefinitionAndRoundTrips() {
        int[][] shapes = {{37, 5, 3, 3}, {64, 33, 1, 1}, {3, 70, 3, 3}};
        for (int[] s : shapes) {
            int o = s[0], i = s[1], kh = s[2], kw = s[3];
            try (Tensor w = random(o * 7L + i, o, i, kh, kw); Tensor hwio = HostLayout.oihwToHwio(w, o, i, kh, kw);
                 Tensor back = HostLayout.hwioToOihw(hwio, o, i, kh, kw)) {
                float[] a = w.toArray(), want = new float[a.length];
                for (int p = 0; p < o; p++)
                    for (int q = 0; q < i; q++)
                        for (int y = 0; y < kh; y++)
                            for (int x = 0; x < kw; x++)
                                want[((y * kw + x) * i + q) * o + p] = a[((p * i + q) * kh + y) * kw + x];
                assertArrayEquals(want, hwio.toArray(), java.util.Arrays.toString(s));
                assertArrayEquals(a, back.toArray(), "round trip " + java.util.Arrays.toString(s));
            }
        }
    }
}
