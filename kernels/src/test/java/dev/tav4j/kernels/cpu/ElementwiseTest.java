package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.TestData.assertClose;
import static dev.tav4j.kernels.cpu.TestData.rand;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class ElementwiseTest {
    private final CpuOps ops = new CpuOps();

    static double gelu(double x) {
        return 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)));
    }

    static double act(Activation a, double x) {
        return switch (a) {
            case SILU -> x / (1 + Math.exp(-x));
            case GELU -> gelu(x);
            case QUICK_GELU -> x / (1 + Math.exp(-1.702 * x));
            case EXP -> Math.exp(x);
        };
    }

    @Test
    void erfReferenceIsRight() {
        org.junit.jupiter.api.Assertions.assertEquals(0.8427007929497149, Erf.erf(1), 1e-15);
        org.junit.jupiter.api.Assertions.assertEquals(-0.9953222650189527, Erf.erf(-2), 1e-15);
        org.junit.jupiter.api.Assertions.assertEquals(0.9999779095030014, Erf.erf(3), 1e-15);
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationsMatchDouble(Activation a) {
        int n = 1037;
        Tensor x = Tensor.host(n);
        for (int i = 0; i < n; i++) x.set(i, -9f + 18f * i / (n - 1) + 1e-3f);
        double[] ref = new double[n];
        for (int i = 0; i < n; i++) ref[i] = act(a, x.get(i));
        Tensor out = Tensor.host(n);
        ops.activation(a, x, out);
        assertClose(a + "", ref, out, 1e-6);
        // relative accuracy also where the values are small
        for (int i = 0; i < n; i++)
            if (Math.abs(ref[i]) > 1e-20)
                org.junit.jupiter.api.Assertions.assertEquals(ref[i], out.get(i), 2e-5 * Math.abs(ref[i]) + 1e-12, a + " at x=" + x.get(i));
        ops.activation(a, x, x); // in place
        assertClose(a + " in place", ref, x, 1e-6);
    }

    @ParameterizedTest
    @CsvSource({"1, 1", "3, 13", "5, 40", "2, 1280"})
    void geglu(int rows, int d) {
        Random rnd = new Random(rows * 31L + d);
        Tensor x = rand(rnd, rows, 2 * d);
        for (long i = 0; i < x.size(); i++) x.set(i, x.get(i) * 4);
        double[] ref = new double[rows * d];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < d; j++) ref[r * d + j] = x.get((long) r * 2 * d + j) * gelu(x.get((long) r * 2 * d + d + j));
        Tensor out = Tensor.host(rows, d);
        ops.geglu(x, out);
        assertClose("geglu", ref, out, 1e-6);
    }

    @Test
    void mulSumAndFill() {
        Random rnd = new Random(5);
        Tensor x = rand(rnd, 3, 37), y = rand(rnd, 3, 37), out = Tensor.host(3, 37);
        double[] ref = new double[111];
        for (int i = 0; i < 111; i++) ref[i] = (double) x.get(i) * y.get(i);
        ops.mul(x, y, out);
        assertClose("mul", ref, out, 1e-7);
        ops.mul(x, y, y);
        assertClose("mul in place", ref, y, 1e-7);
        // the sum over several chunks, in double: exact to the float rounding of the total
        int n = 40_000 + 17;
        Tensor big = rand(rnd, n), s = Tensor.host(1);
        double want = 0;
        for (int i = 0; i < n; i++) want += big.get(i);
        ops.sum(big, s);
        org.junit.jupiter.api.Assertions.assertEquals((float) want, s.get(0), Math.ulp((float) want));
        ops.fill(2.5f, out);
        for (int i = 0; i < 111; i++) org.junit.jupiter.api.Assertions.assertEquals(2.5f, out.get(i));
        ops.fill(s, out);
        for (int i = 0; i < 111; i++) org.junit.jupiter.api.Assertions.assertEquals(s.get(0), out.get(i));
        assertThrows(IllegalArgumentException.class, () -> ops.sum(big, out));
    }

    @Test
    void axpbyAllowsAliasing() {
        Random rnd = new Random(1);
        Tensor x = rand(rnd, 3, 37), y = rand(rnd, 3, 37);
        double[] ref = new double[111];
        for (int i = 0; i < 111; i++) ref[i] = 0.7 * x.get(i) - 1.3 * y.get(i);
        ops.axpby(0.7f, x, -1.3f, y, y);
        assertClose("axpby", ref, y, 1e-6);
    }

    @Test
    void addChannelBiasRepeatsRowsOverFrames() {
        Random rnd = new Random(2);
        int n = 6, h = 3, w = 2, c = 19, repeat = 3;
        Tensor x = rand(rnd, n, h, w, c), rows = rand(rnd, n / repeat, c);
        double[] ref = new double[(int) x.size()];
        for (int i = 0; i < ref.length; i++) {
            int img = i / (h * w * c), ch = i % c;
            ref[i] = x.get(i) + rows.get((long) (img / repeat) * c + ch);
        }
        ops.addChannelBias(x, rows, repeat, x);
        assertClose("addChannelBias", ref, x, 1e-7);
        assertThrows(IllegalArgumentException.class, () -> ops.addChannelBias(x, rows, 4, x));
    }

    @Test
    void concatChannels() {
        Random rnd = new Random(3);
        Tensor a = rand(rnd, 2, 3, 5), b = rand(rnd, 2, 3, 11), out = Tensor.host(2, 3, 16);
        ops.concatChannels(a, b, out);
        double[] ref = new double[96];
        for (int r = 0; r < 6; r++)
            for (int j = 0; j < 16; j++) ref[r * 16 + j] = j < 5 ? a.get(r * 5 + j) : b.get(r * 11 + j - 5);
        assertClose("concat", ref, out, 0);
    }

    @ParameterizedTest
    @CsvSource({"'2,3,4', '2,0,1'", "'2,3,4,5', '0,3,1,2'", "'2,3,4,5', '0,2,3,1'", "'3,1,2,2,3,2', '5,3,0,4,1,2'",
            "'7', '0'", "'2,5,3', '1,0,2'"})
    void permute(String shapeText, String permText) {
        int[] shape = java.util.Arrays.stream(shapeText.split(",")).mapToInt(Integer::parseInt).toArray();
        int[] perm = java.util.Arrays.stream(permText.split(",")).mapToInt(Integer::parseInt).toArray();
        Random rnd = new Random(shape.length);
        Tensor x = rand(rnd, shape);
        int r = shape.length;
        int[] os = new int[r];
        for (int i = 0; i < r; i++) os[i] = shape[perm[i]];
        Tensor out = Tensor.host(os);
        ops.permute(x, perm, out);
        double[] ref = new double[(int) x.size()];
        int[] idx = new int[r];
        for (int o = 0; o < ref.length; o++) {
            int rem = o;
            for (int i = r - 1; i >= 0; i--) { idx[i] = rem % os[i]; rem /= os[i]; }
            int[] in = new int[r];
            for (int i = 0; i < r; i++) in[perm[i]] = idx[i];
            long src = 0;
            for (int i = 0; i < r; i++) src = src * shape[i] + in[i];
            ref[o] = x.get(src);
        }
        assertClose("permute", ref, out, 0);
        int[] bad = perm.clone();
        bad[0] = r; // not a dimension
        assertThrows(IllegalArgumentException.class, () -> ops.permute(x, bad, out));
        if (r > 1) assertThrows(IllegalArgumentException.class, () -> ops.permute(x, new int[r], out));
    }

    @Test
    void gatherRows() {
        Random rnd = new Random(4);
        Tensor table = rand(rnd, 10, 7), out = Tensor.host(4, 7);
        int[] ids = {9, 0, 3, 3};
        ops.gatherRows(table, ids, out);
        double[] ref = new double[28];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 7; j++) ref[i * 7 + j] = table.get(ids[i] * 7L + j);
        assertClose("gather", ref, out, 0);
        assertThrows(IndexOutOfBoundsException.class, () -> ops.gatherRows(table, new int[] {10, 0, 0, 0}, out));
    }

    @Test
    void copyUploadDownload() {
        Random rnd = new Random(5);
        Tensor x = rand(rnd, 4, 6), y = Tensor.host(24);
        ops.copy(x, y);
        assertClose("copy", TestData.d(x), y, 0);
        Tensor up = ops.upload(x);
        org.junit.jupiter.api.Assertions.assertNotSame(x, up);
        assertClose("upload", TestData.d(x), up, 0);
        assertClose("download", TestData.d(x), ops.download(up), 0);
    }

    @ParameterizedTest
    @CsvSource({"2, 3, 5, 3, 6, 10", "1, 4, 4, 13, 8, 8", "1, 3, 5, 2, 5, 7", "2, 4, 6, 1, 2, 3"})
    void upsampleNearest(int n, int h, int w, int c, int ho, int wo) {
        Random rnd = new Random(h * 10L + w);
        Tensor x = rand(rnd, n, h, w, c), out = Tensor.host(n, ho, wo, c);
        ops.upsampleNearest(x, out);
        double[] ref = new double[(int) out.size()];
        for (int b = 0; b < n; b++)
            for (int y = 0; y < ho; y++)
                for (int z = 0; z < wo; z++)
                    for (int ch = 0; ch < c; ch++) {
                        int iy = (int) Math.floor(y * (double) h / ho), ix = (int) Math.floor(z * (double) w / wo);
                        ref[((b * ho + y) * wo + z) * c + ch] = x.get((((long) b * h + iy) * w + ix) * c + ch);
                    }
        assertClose("upsample", ref, out, 0);
    }

    @ParameterizedTest
    @CsvSource({"320, true, 0", "32, false, 1", "7, true, 1", "1, false, 0"})
    void timestepEmbedding(int dim, boolean flip, float shift) {
        float[] ts = {0f, 1f, 261f, 999f};
        Tensor out = Tensor.host(ts.length, dim);
        ops.timestepEmbedding(ts, dim, flip, shift, out);
        int half = dim / 2;
        double[] exact = new double[ts.length * dim], f32 = new double[ts.length * dim];
        for (int b = 0; b < ts.length; b++) {
            for (int k = 0; k < half; k++) {
                double arg = ts[b] * Math.exp(-Math.log(10000) * k / (half - shift));
                // PyTorch float32: exponent, exp and the product each rounded to float
                float e = (float) ((float) -Math.log(10000) * (float) k) / (float) (half - shift);
                float a32 = ts[b] * (float) Math.exp(e);
                int sinAt = flip ? half + k : k, cosAt = flip ? k : half + k;
                exact[b * dim + sinAt] = Math.sin(arg);
                exact[b * dim + cosAt] = Math.cos(arg);
                f32[b * dim + sinAt] = (float) Math.sin(a32);
                f32[b * dim + cosAt] = (float) Math.cos(a32);
            }
        }
        if (half == 0) return; // dim 1: a single zero column
        assertClose("timestep vs float32 steps", f32, out, 1e-7);
        assertClose("timestep vs exact", exact, out, 2e-4);
        if (dim % 2 == 1) for (int b = 0; b < ts.length; b++) org.junit.jupiter.api.Assertions.assertEquals(0f, out.get((long) b * dim + dim - 1));
    }

    @Test
    void providerIsFoundAsCpu() {
        var ops = dev.tav4j.runtime.Backends.select("cpu");
        org.junit.jupiter.api.Assertions.assertEquals("cpu", ops.name());
        var p = dev.tav4j.runtime.Backends.providers().stream().filter(b -> b.name().equals("cpu")).findFirst().orElseThrow();
        org.junit.jupiter.api.Assertions.assertTrue(p.probe().available(), p.probe().reason());
    }
}
