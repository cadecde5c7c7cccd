package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;
import java.util.function.BiConsumer;

import static dev.tav4j.kernels.cuda.Emu.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The CUDA backward ops (on the emulated device) against CpuGradOps, the reference, on the same inputs: small odd
 * shapes, every attention kind (dK/dV null and not), conv stride 1/2 and bottom-right padding, GroupNorm pooled and
 * per frame with and without SiLU, LayerNorm, GEGLU, activations, upsampling, split, matmul, sum of squares, three
 * AdamW steps, and the parameter gradients (conv weight and bias, GroupNorm and LayerNorm affine, accumulating onto
 * non-zero values). Tolerances, as max |cuda − cpu| / max |cpu| per output: 2e-5 attention and norms (fp32 sums in
 * another order), 1e-5 conv, matmul and point-wise, 1e-12 sum of squares (double on both sides), 1e-6 AdamW.
 */
public class CudaGradVsCpuTest {
    private static final Ops CPU = new CpuOps();
    private final Random r = new Random(7);

    /** The CUDA backend under test: emulated here, a real GPU in {@link CudaGradVsCpuGpuTest}. */
    Ops target() {
        return Emu.ops();
    }

    /**
     * Runs {@code op} on both backends over the same initial tensors (a null shape is a null tensor) and compares
     * the tensors listed in {@code outputs}.
     */
    private void compare(String what, double tol, float[][] init, int[][] shapes, int[] outputs, BiConsumer<GradOps, Tensor[]> op) {
        float[][][] got = new float[2][][];
        Ops[] backends = {CPU, target()};
        for (int b = 0; b < 2; b++) {
            Ops ops = backends[b];
            Tensor[] ts = new Tensor[init.length];
            for (int i = 0; i < init.length; i++) {
                if (shapes[i] == null) continue;
                try (Tensor h = Tensor.of(init[i], shapes[i])) {
                    ts[i] = ops.upload(h);
                }
            }
            op.accept(ops.grad(), ts);
            got[b] = new float[outputs.length][];
            for (int o = 0; o < outputs.length; o++) {
                try (Tensor h = ops.download(ts[outputs[o]])) {
                    got[b][o] = h.toArray();
                }
            }
            for (Tensor t : ts) if (t != null) t.close();
        }
        for (int o = 0; o < outputs.length; o++) {
            System.out.printf(java.util.Locale.ROOT, "%s output %d: rel-err %.2e (tol %.0e)%n", what, outputs[o], Emu.relError(got[1][o], got[0][o]), tol);
            assertClose(what + " output " + outputs[o], got[1][o], got[0][o], tol);
        }
    }

    private float[] rnd(long n) {
        return Emu.random(r, Math.toIntExact(n), 0f);
    }

    private static float[] zeros(long n) {
        return new float[Math.toIntExact(n)];
    }

    @ParameterizedTest(name = "{0} batch={1} frames={2} L={3} heads={4} D={5} Lk={6} kvGrad={7}")
    @CsvSource({
            "SELF, 2, 1, 19, 2, 40, 19, true", "SELF, 1, 1, 70, 1, 80, 70, true", "CAUSAL, 1, 1, 35, 3, 8, 35, true",
            "SPARSE_CAUSAL, 2, 3, 17, 2, 40, 17, true", "SPARSE_CAUSAL, 1, 1, 9, 1, 8, 9, true",
            "SPARSE_CAUSAL, 1, 4, 40, 1, 24, 40, true", "CROSS, 2, 2, 11, 2, 40, 13, true",
            "CROSS, 1, 3, 7, 2, 16, 5, false", "TEMPORAL, 2, 3, 6, 2, 8, 6, true", "TEMPORAL, 1, 4, 5, 1, 40, 5, true",
            "TEMPORAL, 1, 2, 3, 2, 8, 3, false",
    })
    void attention(AttentionKind kind, int batch, int frames, int l, int heads, int d, int lk, boolean kvGrad) {
        int n = batch * frames, c = heads * d, nk = kind == AttentionKind.CROSS ? batch : n;
        float scale = (float) (1 / Math.sqrt(d));
        long qs = (long) n * l * c, ks = (long) nk * lk * c;
        int[] q = {n, l, c}, kk = {nk, lk, c};
        compare("attentionBackward " + kind, 2e-5,
                new float[][] {rnd(qs), rnd(ks), rnd(ks), rnd(qs), zeros(qs), zeros(ks), zeros(ks)},
                new int[][] {q, kk, kk, q, q, kvGrad ? kk : null, kvGrad ? kk : null}, kvGrad ? new int[] {4, 5, 6} : new int[] {4},
                (g, t) -> g.attentionBackward(kind, frames, heads, scale, t[0], t[1], t[2], t[3], t[4], t[5], t[6]));
    }

    @ParameterizedTest(name = "k={0} stride={1} pad={2} brOnly={3} ci={4} co={5}")
    @CsvSource({"3, 1, 1, false, 5, 9", "3, 2, 1, false, 5, 9", "3, 2, 0, true, 4, 7", "1, 1, 0, false, 6, 3",
            "3, 1, 1, false, 67, 70"})
    void conv2dBackwardInput(int k, int stride, int pad, boolean brOnly, int ci, int co) {
        int n = 2, h = 7, w = 6, extra = brOnly ? 1 : 2 * pad;
        int ho = (h + extra - k) / stride + 1, wo = (w + extra - k) / stride + 1;
        long dy = (long) n * ho * wo * co, dx = (long) n * h * w * ci;
        compare("conv2dBackwardInput", 1e-5, new float[][] {rnd(dy), rnd((long) k * k * ci * co), zeros(dx)},
                new int[][] {{n, ho, wo, co}, {k, k, ci, co}, {n, h, w, ci}}, new int[] {2},
                (g, t) -> g.conv2dBackwardInput(t[0], t[1], stride, pad, brOnly, t[2]));
    }

    /** Accumulates onto non-zero dW and dBias; 24×24 images make several split-M chunks, Ci 67 / Co 70 several tiles. */
    @ParameterizedTest(name = "k={0} stride={1} pad={2} brOnly={3} ci={4} co={5} {6}x{7} bias={8}")
    @CsvSource({"3, 1, 1, false, 5, 9, 7, 6, true", "3, 2, 1, false, 5, 9, 7, 6, true", "3, 2, 0, true, 4, 7, 7, 6, true",
            "1, 1, 0, false, 6, 3, 7, 6, false", "3, 1, 1, false, 67, 70, 7, 6, true", "3, 1, 1, false, 3, 5, 24, 24, true",
            "3, 2, 1, false, 8, 66, 24, 23, false"})
    void conv2dBackwardWeight(int k, int stride, int pad, boolean brOnly, int ci, int co, int h, int w, boolean bias) {
        int n = 2, extra = brOnly ? 1 : 2 * pad;
        int ho = (h + extra - k) / stride + 1, wo = (w + extra - k) / stride + 1;
        long dy = (long) n * ho * wo * co, x = (long) n * h * w * ci;
        compare("conv2dBackwardWeight", 1e-5, new float[][] {rnd(x), rnd(dy), rnd((long) k * k * ci * co), bias ? rnd(co) : null},
                new int[][] {{n, h, w, ci}, {n, ho, wo, co}, {k, k, ci, co}, bias ? new int[] {co} : null},
                bias ? new int[] {2, 3} : new int[] {2},
                (g, t) -> g.conv2dBackwardWeight(t[0], t[1], stride, pad, brOnly, t[2], t[3]));
    }

    /** Accumulates onto non-zero dGamma and dBeta (or one of them); the 16×20 case takes several row splits and two channel blocks. */
    @ParameterizedTest(name = "N={0} {1}x{2} C={3} pooled={4} silu={5} outputs={6}")
    @CsvSource({"4, 5, 3, 12, 1, false, 3", "4, 5, 3, 12, 2, true, 3", "3, 5, 3, 12, 3, true, 3", "2, 5, 3, 12, 1, true, 1",
            "6, 5, 3, 12, 3, false, 2", "2, 16, 20, 40, 2, true, 3"})
    void groupNormBackwardAffine(int n, int h, int w, int c, int pooled, boolean silu, int outputs) {
        long size = (long) n * h * w * c;
        boolean wantG = (outputs & 1) != 0, wantB = (outputs & 2) != 0;
        float[] x = Emu.random(r, (int) size, 2f);
        compare("groupNormBackwardAffine", 2e-5,
                new float[][] {x, Emu.random(r, c, 1f), rnd(c), rnd(size), wantG ? rnd(c) : null, wantB ? rnd(c) : null},
                new int[][] {{n, h, w, c}, {c}, {c}, {n, h, w, c}, wantG ? new int[] {c} : null, wantB ? new int[] {c} : null},
                wantG && wantB ? new int[] {4, 5} : wantG ? new int[] {4} : new int[] {5},
                (g, t) -> g.groupNormBackwardAffine(t[0], 4, pooled, t[1], t[2], 1e-5f, silu, t[3], t[4], t[5]));
    }

    @ParameterizedTest(name = "rows={0} C={1} outputs={2}")
    @CsvSource({"7, 37, 3", "600, 70, 3", "9, 33, 1", "9, 33, 2"})
    void layerNormBackwardAffine(int rows, int c, int outputs) {
        boolean wantG = (outputs & 1) != 0, wantB = (outputs & 2) != 0;
        compare("layerNormBackwardAffine", 2e-5,
                new float[][] {Emu.random(r, rows * c, 1f), Emu.random(r, c, 1f), rnd(rows * c), wantG ? rnd(c) : null, wantB ? rnd(c) : null},
                new int[][] {{rows, c}, {c}, {rows, c}, wantG ? new int[] {c} : null, wantB ? new int[] {c} : null},
                wantG && wantB ? new int[] {3, 4} : wantG ? new int[] {3} : new int[] {4},
                (g, t) -> g.layerNormBackwardAffine(t[0], t[1], 1e-5f, t[2], t[3], t[4]));
    }

    @ParameterizedTest(name = "N={0} pooled={1} silu={2}")
    @CsvSource({"4, 1, false", "4, 2, true", "3, 3, true", "2, 1, true", "6, 3, false"})
    void groupNormBackward(int n, int pooled, boolean silu) {
        int h = 5, w = 3, c = 12;
        long size = (long) n * h * w * c;
        float[] x = Emu.random(r, (int) size, 2f);
        compare("groupNormBackward", 2e-5, new float[][] {x, Emu.random(r, c, 1f), rnd(c), rnd(size), zeros(size)},
                new int[][] {{n, h, w, c}, {c}, {c}, {n, h, w, c}, {n, h, w, c}}, new int[] {4},
                (g, t) -> g.groupNormBackward(t[0], 4, pooled, t[1], t[2], 1e-5f, silu, t[3], t[4]));
    }

    @Test
    void layerNormBackward() {
        int rows = 7, c = 37;
        compare("layerNormBackward", 2e-5, new float[][] {Emu.random(r, rows * c, 1f), Emu.random(r, c, 1f), rnd(rows * c), zeros(rows * c)},
                new int[][] {{rows, c}, {c}, {rows, c}, {rows, c}}, new int[] {3},
                (g, t) -> g.layerNormBackward(t[0], t[1], 1e-5f, t[2], t[3]));
    }

    @Test
    void gegluBackward() {
        int rows = 5, d = 19;
        compare("gegluBackward", 1e-5, new float[][] {rnd(rows * 2 * d), rnd(rows * d), zeros(rows * 2 * d)},
                new int[][] {{rows, 2 * d}, {rows, d}, {rows, 2 * d}}, new int[] {2},
                (g, t) -> g.gegluBackward(t[0], t[1], t[2]));
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationBackward(Activation act) {
        int n = 1031;
        float[] x = rnd(n);
        for (int i = 0; i < n; i++) x[i] *= 3;
        compare("activationBackward " + act, 1e-5, new float[][] {x, rnd(n), zeros(n)}, new int[][] {{n}, {n}, {n}},
                new int[] {2}, (g, t) -> g.activationBackward(act, t[0], t[1], t[2]));
    }

    @ParameterizedTest(name = "{0}x{1} -> {2}x{3}")
    @CsvSource({"3, 5, 6, 10", "3, 5, 7, 11", "4, 4, 4, 4"})
    void upsampleNearestBackward(int h, int w, int ho, int wo) {
        int n = 2, c = 3;
        compare("upsampleNearestBackward", 1e-5, new float[][] {rnd((long) n * ho * wo * c), zeros((long) n * h * w * c)},
                new int[][] {{n, ho, wo, c}, {n, h, w, c}}, new int[] {1}, (g, t) -> g.upsampleNearestBackward(t[0], t[1]));
    }

    @ParameterizedTest(name = "{0} images per row")
    @CsvSource({"1", "3"})
    void addChannelBiasBackward(int repeat) {
        int rows = 2, h = 5, w = 7, c = 9;
        compare("addChannelBiasBackward", 1e-5, new float[][] {rnd((long) rows * repeat * h * w * c), rnd(rows * c)},
                new int[][] {{rows * repeat, h, w, c}, {rows, c}}, new int[] {1}, (g, t) -> g.addChannelBiasBackward(t[0], repeat, t[1]));
    }

    @Test
    void splitChannels() {
        int p = 13, ca = 3, cb = 5;
        compare("splitChannels", 0, new float[][] {rnd(p * (ca + cb)), zeros(p * ca), zeros(p * cb)},
                new int[][] {{p, ca + cb}, {p, ca}, {p, cb}}, new int[] {1, 2}, (g, t) -> g.splitChannels(t[0], t[1], t[2]));
    }

    @Test
    void matmulBackward() {
        int m = 23, kk = 17, n = 11;
        compare("matmulBackwardInput", 1e-5, new float[][] {rnd(m * n), rnd(kk * n), zeros(m * kk)},
                new int[][] {{m, n}, {kk, n}, {m, kk}}, new int[] {2}, (g, t) -> g.matmulBackwardInput(t[0], t[1], t[2]));
        // accumulates onto non-zero dW and dBias
        compare("matmulBackwardWeight", 1e-5, new float[][] {rnd(m * kk), rnd(m * n), rnd(kk * n), rnd(n)},
                new int[][] {{m, kk}, {m, n}, {kk, n}, {n}}, new int[] {2, 3}, (g, t) -> g.matmulBackwardWeight(t[0], t[1], t[2], t[3]));
        compare("matmulBackwardWeight (no bias)", 1e-5, new float[][] {rnd(m * kk), rnd(m * n), rnd(kk * n), null},
                new int[][] {{m, kk}, {m, n}, {kk, n}, null}, new int[] {2}, (g, t) -> g.matmulBackwardWeight(t[0], t[1], t[2], null));
    }

    @Test
    void sumOfSquares() {
        int n = 100_003;
        float[] x = Emu.random(r, n, 0.5f);
        double[] got = new double[2];
        Ops[] backends = {CPU, target()};
        for (int b = 0; b < 2; b++) {
            try (Tensor h = Tensor.of(x, n); Tensor t = backends[b].upload(h)) {
                got[b] = backends[b].grad().sumOfSquares(t);
            }
        }
        double exact = 0;
        for (float v : x) exact += (double) v * v;
        assertEquals(exact, got[0], exact * 1e-12, "cpu sum of squares");
        assertEquals(got[0], got[1], got[0] * 1e-12, "cuda sum of squares vs cpu");
    }

    @Test
    void adamWThreeSteps() {
        int n = 2053;
        float[] p = rnd(n);
        compare("adamW", 1e-6, new float[][] {p, zeros(n), zeros(n), rnd(n), rnd(n), rnd(n)},
                new int[][] {{n}, {n}, {n}, {n}, {n}, {n}}, new int[] {0, 1, 2},
                (g, t) -> {
                    for (int s = 1; s <= 3; s++) g.adamW(t[0], t[2 + s], t[1], t[2], 0.7f, 3e-5f, 0.9f, 0.999f, 1e-2f, 1e-8f, s);
                });
    }

    @Test
    void parameterGradientsRefuseWrongShapesByName() {
        Ops ops = target();
        try (Tensor x = ops.allocate(1, 8, 8, 4); Tensor dy = ops.allocate(1, 8, 8, 5); Tensor dw = ops.allocate(3, 3, 4, 5);
             Tensor db = ops.allocate(4); Tensor g = ops.allocate(4); Tensor c8 = ops.allocate(8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ops.grad().conv2dBackwardWeight(x, dy, 1, 1, false, dw, db));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("dBias"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> ops.grad().conv2dBackwardWeight(x, dy, 2, 1, false, dw, null));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("dY"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> ops.grad().groupNormBackwardAffine(x, 2, 1, g, g, 1e-5f, false, x, c8, null));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("dGamma"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> ops.grad().layerNormBackwardAffine(x, g, 1e-5f, x, null, c8));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("dBeta"), e.getMessage());
        }
    }

    @Test
    void badArgumentsNameTheTensor() {
        Ops ops = target();
        try (Tensor q = ops.allocate(2, 4, 8); Tensor k = ops.allocate(2, 5, 8); Tensor dq = ops.allocate(2, 4, 6)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ops.grad().attentionBackward(AttentionKind.SELF, 1, 2, 1f, q, k, k, q, dq, null, null));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("dQ"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ops.grad().attentionBackward(AttentionKind.SELF, 1, 2, 1f, q, k, k, q, q, null, null));
        }
    }
}
