package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static dev.tav4j.kernels.cuda.Emu.assertClose;
import static dev.tav4j.kernels.cuda.Emu.down;
import static dev.tav4j.kernels.cuda.Emu.ops;
import static dev.tav4j.kernels.cuda.Emu.up;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The small kernels and data movement vs loops written here from the Ops contract. */
class CudaElementwiseTest {
    private final Random r = new Random(42);

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activation(Activation act) {
        float[] x = Emu.random(r, 1001, 0);
        float[] want = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            want[i] = (float) switch (act) {
                case SILU -> v / (1 + Math.exp(-v));
                case GELU -> Ref.gelu(v);
                case QUICK_GELU -> v / (1 + Math.exp(-1.702 * v));
                case EXP -> Math.exp(v);
            };
        }
        try (Tensor t = up(x, 7, 11, 13)) {
            ops().activation(act, t, t);
            assertClose(act.name(), down(t), want, 1e-6);
        }
    }

    @Test
    void geglu() {
        int rows = 9, d = 13;
        float[] x = Emu.random(r, rows * 2 * d, 0), want = new float[rows * d];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < d; j++) want[i * d + j] = (float) (x[i * 2 * d + j] * Ref.gelu(x[i * 2 * d + d + j]));
        try (Tensor t = up(x, 3, 3, 2 * d); Tensor out = ops().allocate(3, 3, d)) {
            ops().geglu(t, out);
            assertClose("geglu", down(out), want, 1e-6);
        }
    }

    @Test
    void axpbyAliasingOut() {
        float[] x = Emu.random(r, 333, 0), y = Emu.random(r, 333, 0), want = new float[333];
        for (int i = 0; i < 333; i++) want[i] = 0.5f * x[i] - 2f * y[i];
        try (Tensor tx = up(x, 333); Tensor ty = up(y, 333)) {
            ops().axpby(0.5f, tx, -2f, ty, ty);
            assertClose("axpby", down(ty), want, 1e-6);
        }
    }

    @Test
    void ddimStep() {
        float a = 0.3f, ap = 0.7f;
        float[] x = Emu.random(r, 100, 0), e = Emu.random(r, 100, 0), want = new float[100];
        for (int i = 0; i < 100; i++) {
            double x0 = (x[i] - Math.sqrt(1 - a) * e[i]) / Math.sqrt(a);
            want[i] = (float) (Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * e[i]);
        }
        try (Tensor tx = up(x, 4, 25); Tensor te = up(e, 4, 25)) {
            ops().ddimStep(tx, te, a, ap, tx);
            assertClose("ddimStep", down(tx), want, 1e-6);
        }
    }

    @Test
    void addChannelBiasPerVideo() {
        int n = 4, hw = 6, c = 5, repeat = 2;
        float[] x = Emu.random(r, n * hw * c, 0), rows = Emu.random(r, (n / repeat) * c, 0), want = new float[x.length];
        for (int i = 0; i < x.length; i++) want[i] = x[i] + rows[(i / (hw * c)) / repeat * c + i % c];
        try (Tensor tx = up(x, n, 2, 3, c); Tensor tr = up(rows, n / repeat, c); Tensor out = ops().allocate(n, 2, 3, c)) {
            ops().addChannelBias(tx, tr, repeat, out);
            assertClose("addChannelBias", down(out), want, 0);
        }
    }

    @Test
    void concatChannels() {
        float[] a = Emu.random(r, 6 * 3, 0), b = Emu.random(r, 6 * 5, 0), want = new float[6 * 8];
        for (int p = 0; p < 6; p++)
            for (int c = 0; c < 8; c++) want[p * 8 + c] = c < 3 ? a[p * 3 + c] : b[p * 5 + c - 3];
        try (Tensor ta = up(a, 2, 3, 3); Tensor tb = up(b, 2, 3, 5); Tensor out = ops().allocate(2, 3, 8)) {
            ops().concatChannels(ta, tb, out);
            assertArrayEquals(want, down(out));
        }
    }

    @Test
    void permuteRank4AndRank2() {
        int[] s = {2, 3, 4, 5};
        float[] x = Emu.random(r, 120, 0), want = new float[120];
        int[] perm = {0, 2, 3, 1};  // [2, 4, 5, 3]
        for (int a = 0; a < 2; a++) for (int b = 0; b < 3; b++) for (int c = 0; c < 4; c++) for (int d = 0; d < 5; d++)
            want[((a * 4 + c) * 5 + d) * 3 + b] = x[((a * 3 + b) * 4 + c) * 5 + d];
        try (Tensor t = up(x, s); Tensor out = ops().allocate(2, 4, 5, 3); Tensor t2 = up(x, 10, 12); Tensor out2 = ops().allocate(12, 10)) {
            ops().permute(t, perm, out);
            assertArrayEquals(want, down(out));
            ops().permute(t2, new int[] {1, 0}, out2);
            float[] got = down(out2);
            for (int i = 0; i < 10; i++) for (int j = 0; j < 12; j++) org.junit.jupiter.api.Assertions.assertEquals(x[i * 12 + j], got[j * 10 + i]);
        }
    }

    @Test
    void gatherRowsChecksIds() {
        float[] table = Emu.random(r, 7 * 4, 0);
        int[] ids = {6, 0, 3, 3, 1};
        float[] want = new float[ids.length * 4];
        for (int i = 0; i < ids.length; i++) System.arraycopy(table, ids[i] * 4, want, i * 4, 4);
        try (Tensor t = up(table, 7, 4); Tensor out = ops().allocate(5, 4)) {
            ops().gatherRows(t, ids, out);
            assertArrayEquals(want, down(out));
            assertThrows(IllegalArgumentException.class, () -> ops().gatherRows(t, new int[] {0, 7, 1, 1, 1}, out));
        }
    }

    @ParameterizedTest(name = "{0}x{1} -> {2}x{3}")
    @CsvSource({"3, 4, 6, 8", "3, 5, 5, 7", "4, 4, 2, 2"})
    void upsampleNearest(int h, int w, int ho, int wo) {
        int n = 2, c = 3;
        float[] x = Emu.random(r, n * h * w * c, 0), want = new float[n * ho * wo * c];
        for (int i = 0; i < n; i++) for (int y = 0; y < ho; y++) for (int xx = 0; xx < wo; xx++) for (int ch = 0; ch < c; ch++)
            want[((i * ho + y) * wo + xx) * c + ch] = x[((i * h + y * h / ho) * w + xx * w / wo) * c + ch];
        try (Tensor t = up(x, n, h, w, c); Tensor out = ops().allocate(n, ho, wo, c)) {
            ops().upsampleNearest(t, out);
            assertArrayEquals(want, down(out));
        }
    }

    @ParameterizedTest(name = "dim={0} flip={1} shift={2}")
    @CsvSource({"32, true, 0", "33, false, 1", "8, false, 1"})
    void timestepEmbedding(int dim, boolean flip, float shift) {
        float[] ts = {0f, 1f, 37f, 999f};
        float[] want = new float[ts.length * dim];
        int half = dim / 2;
        for (int b = 0; b < ts.length; b++)
            for (int j = 0; j < half; j++) {
                double arg = ts[b] * Math.exp(-Math.log(10000) * j / (half - shift));
                want[b * dim + (flip ? half + j : j)] = (float) Math.sin(arg);
                want[b * dim + (flip ? j : half + j)] = (float) Math.cos(arg);
            }
        try (Tensor out = ops().allocate(ts.length, dim)) {
            ops().timestepEmbedding(ts, dim, flip, shift, out);
            // arguments up to 999 rad carry ~1e-4 absolute float32 phase error in any float32 implementation
            assertClose("timestepEmbedding", down(out), want, 2e-4);
        }
    }

    @Test
    void matmulWithAndWithoutBias() {
        int m = 7, k = 9, n = 5;
        float[] a = Emu.random(r, m * k, 0), w = Emu.random(r, k * n, 0), b = Emu.random(r, n, 0);
        float[] want = new float[m * n], wantB = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) a[i * k + p] * w[p * n + j];
                want[i * n + j] = (float) s;
                wantB[i * n + j] = (float) (s + b[j]);
            }
        try (Tensor ta = up(a, 1, m, k); Tensor tw = up(w, k, n); Tensor tb = up(b, n); Tensor out = ops().allocate(1, m, n)) {
            ops().matmul(ta, tw, null, out);
            assertClose("matmul", down(out), want, 1e-6);
            ops().matmul(ta, tw, tb, out);
            assertClose("matmul+bias", down(out), wantB, 1e-6);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void halfConversionRoundTrip(DType dtype) {
        float[] x = {0f, 1f, -2.5f, 3.140625f, 65504f, 1e-3f, -7.8125e-3f, 0.1f};
        try (Tensor t = up(x, x.length); Tensor h = ops().convert(t, dtype)) {
            float[] back = down(h);
            for (int i = 0; i < x.length; i++) {
                float want = dtype == DType.F16 ? Float.float16ToFloat(Float.floatToFloat16(x[i])) : Bf16.toFloat(Bf16.fromFloat(x[i]));
                org.junit.jupiter.api.Assertions.assertEquals(want, back[i], dtype + " of " + x[i]);
            }
        }
    }

    @Test
    void copyAndSlices() {
        float[] x = Emu.random(r, 24, 0);
        try (Tensor t = up(x, 4, 6); Tensor out = ops().allocate(2, 6)) {
            ops().copy(t.slice(1, 2), out);
            float[] want = new float[12];
            System.arraycopy(x, 6, want, 0, 12);
            assertArrayEquals(want, down(out));
        }
    }
}
