package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA backward ops with BF16 and F16 storage (over the emulated device here, a GPU in
 * {@link CudaGradHalfVsCpuGpuTest}) against CpuGradOps in fp32 on the same F32 inputs, so the error includes rounding
 * the inputs and the outputs to the half type. Metric: max |cuda − cpu| / max |cpu| per output. Tolerances from the
 * storage's unit roundoff u (2^-8 bf16, 2^-11 f16), as CudaPrecisionVsCpuOpsTest's for the forward ops:
 * <ul>
 *   <li>MOVE (split): a copy, exact after rounding the input: u;
 *   <li>POINT (activations, GEGLU, upsample: sums of at most 4): rounded inputs through a smooth function: 3u;
 *   <li>REDUCE (matmul, conv, LayerNorm): rounded inputs through an fp32 reduction plus a rounded output: 6u;
 *   <li>NORM_ATTN (GroupNorm, attention): dx = rstd (g − mean g − x̂ mean g x̂) and dS = P (dP − D) subtract nearly
 *       equal terms formed from rounded inputs, so the error relative to the (smaller) result can grow: 8u
 *       (measured on the emulator: at most 1.6u, as the REDUCE ops; 1.9u for attention since BF16/F16 attention runs on
 *       tensor cores, which round P and dS to the storage type: see {@link TensorCoreAttentionGradTest}).
 * </ul>
 * Weight gradients of half inputs go into fp32 buffers (mixed precision): the same REDUCE tolerance, without the
 * output rounding (conv weights, matmul, LayerNorm affine; GroupNorm affine NORM_ATTN, as its x̂ is formed from
 * rounded inputs the same way). The optimizer ops stay fp32-only and refuse half tensors by name.
 */
public class CudaGradHalfVsCpuTest {
    private static final Ops CPU = new CpuOps();

    enum Kind { MOVE, POINT, REDUCE, NORM_ATTN }

    static double tolerance(DType t, Kind kind) {
        double u = t == DType.BF16 ? 0x1p-8 : 0x1p-11;
        return switch (kind) {
            case MOVE -> u;
            case POINT -> 3 * u;
            case REDUCE -> 6 * u;
            case NORM_ATTN -> 8 * u;
        };
    }

    /** The CUDA backend under test in {@code precision}: over the emulated device here. */
    CudaOps target(DType precision) {
        return Emu.ops().withPrecision(precision);
    }

    String tag() {
        return "[emu-measure]";
    }

    private final Random r = new Random(17);

    /**
     * Runs {@code op} on both backends over the same F32 inputs (uploaded in the backend's precision, or F32 where
     * {@code f32} marks the tensor: fp32 weight gradients) and compares the tensors listed in {@code outputs}.
     */
    private void compare(DType dt, String what, Kind kind, float[][] init, int[][] shapes, boolean[] f32, int[] outputs,
                         BiConsumer<GradOps, Tensor[]> op) {
        float[][][] got = new float[2][][];
        Ops[] backends = {CPU, target(dt)};
        for (int b = 0; b < 2; b++) {
            Ops ops = backends[b];
            Tensor[] ts = new Tensor[init.length];
            for (int i = 0; i < init.length; i++) {
                if (shapes[i] == null) continue;
                try (Tensor h = Tensor.of(init[i], shapes[i])) {
                    ts[i] = f32 != null && f32[i] ? ops.upload(h, DType.F32) : ops.upload(h);
                }
                if (b == 1) assertEquals(f32 != null && f32[i] ? DType.F32 : dt, ts[i].dtype(), what + ": tensor " + i);
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
            double tol = tolerance(dt, kind), e = Emu.relError(got[1][o], got[0][o]);
            System.out.printf(Locale.ROOT, "%s %s %s output %d: rel-err %.2e (tol %.2e)%n", tag(), dt, what, outputs[o], e, tol);
            assertTrue(e <= tol, dt + " " + what + " output " + outputs[o] + ": relative error " + e + " above " + tol);
        }
    }

    private void compare(DType dt, String what, Kind kind, float[][] init, int[][] shapes, int[] outputs, BiConsumer<GradOps, Tensor[]> op) {
        compare(dt, what, kind, init, shapes, null, outputs, op);
    }

    private float[] rnd(long n) {
        return Emu.random(r, Math.toIntExact(n), 0f);
    }

    private static float[] zeros(long n) {
        return new float[Math.toIntExact(n)];
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void attention(DType dt) {
        // kind, batch, frames, L, heads, D, Lk, dK/dV wanted
        int[][] cases = {{0, 2, 1, 19, 2, 40, 19, 1}, {1, 1, 1, 35, 3, 8, 35, 1}, {2, 2, 3, 17, 2, 40, 17, 1},
                {3, 2, 2, 11, 2, 40, 13, 1}, {3, 1, 3, 7, 2, 16, 5, 0}, {4, 2, 3, 6, 2, 8, 6, 1}};
        for (int[] c : cases) {
            AttentionKind kind = AttentionKind.values()[c[0]];
            int batch = c[1], frames = c[2], l = c[3], heads = c[4], d = c[5], lk = c[6];
            boolean kv = c[7] == 1;
            int n = batch * frames, ch = heads * d, nk = kind == AttentionKind.CROSS ? batch : n;
            float scale = (float) (1 / Math.sqrt(d));
            long qs = (long) n * l * ch, ks = (long) nk * lk * ch;
            int[] q = {n, l, ch}, kk = {nk, lk, ch};
            compare(dt, "attentionBackward " + kind, Kind.NORM_ATTN,
                    new float[][] {rnd(qs), rnd(ks), rnd(ks), rnd(qs), zeros(qs), zeros(ks), zeros(ks)},
                    new int[][] {q, kk, kk, q, q, kv ? kk : null, kv ? kk : null}, kv ? new int[] {4, 5, 6} : new int[] {4},
                    (g, t) -> g.attentionBackward(kind, frames, heads, scale, t[0], t[1], t[2], t[3], t[4], t[5], t[6]));
        }
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void conv2dBackwardInput(DType dt) {
        for (int[] c : new int[][] {{3, 1, 1, 0, 5, 9}, {3, 2, 1, 0, 5, 9}, {3, 2, 0, 1, 4, 7}, {1, 1, 0, 0, 6, 3}}) {
            int k = c[0], stride = c[1], pad = c[2], ci = c[4], co = c[5];
            boolean br = c[3] == 1;
            int n = 2, h = 7, w = 6, extra = br ? 1 : 2 * pad;
            int ho = (h + extra - k) / stride + 1, wo = (w + extra - k) / stride + 1;
            compare(dt, "conv2dBackwardInput k" + k + " s" + stride + (br ? " br" : ""), Kind.REDUCE,
                    new float[][] {rnd((long) n * ho * wo * co), rnd((long) k * k * ci * co), zeros((long) n * h * w * ci)},
                    new int[][] {{n, ho, wo, co}, {k, k, ci, co}, {n, h, w, ci}}, new int[] {2},
                    (g, t) -> g.conv2dBackwardInput(t[0], t[1], stride, pad, br, t[2]));
        }
    }

    /** Half x and dY into fp32 dW and dBias (master gradients, accumulating onto non-zero values), and into dt. */
    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void conv2dBackwardWeight(DType dt) {
        // k, stride, pad, bottom-right only, ci, co, h, w
        for (int[] c : new int[][] {{3, 1, 1, 0, 5, 9, 7, 6}, {3, 2, 1, 0, 8, 66, 24, 23}, {3, 2, 0, 1, 4, 7, 7, 6}, {1, 1, 0, 0, 6, 3, 7, 6}}) {
            int k = c[0], stride = c[1], pad = c[2], ci = c[4], co = c[5], h = c[6], w = c[7];
            boolean br = c[3] == 1;
            int n = 2, extra = br ? 1 : 2 * pad;
            int ho = (h + extra - k) / stride + 1, wo = (w + extra - k) / stride + 1;
            long xs = (long) n * h * w * ci, ys = (long) n * ho * wo * co, ws = (long) k * k * ci * co;
            int[][] shapes = {{n, h, w, ci}, {n, ho, wo, co}, {k, k, ci, co}, {co}};
            String what = "conv2dBackwardWeight k" + k + " s" + stride + (br ? " br" : "");
            compare(dt, what + " into F32", Kind.REDUCE, new float[][] {rnd(xs), rnd(ys), rnd(ws), rnd(co)}, shapes,
                    new boolean[] {false, false, true, true}, new int[] {2, 3},
                    (g, t) -> g.conv2dBackwardWeight(t[0], t[1], stride, pad, br, t[2], t[3]));
            compare(dt, what + " in " + dt, Kind.REDUCE, new float[][] {rnd(xs), rnd(ys), rnd(ws), rnd(co)}, shapes,
                    new int[] {2, 3}, (g, t) -> g.conv2dBackwardWeight(t[0], t[1], stride, pad, br, t[2], t[3]));
        }
    }

    /** GroupNorm and LayerNorm affine gradients of half activations into fp32 dGamma and dBeta (accumulating). */
    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void normAffine(DType dt) {
        int h = 5, w = 3, c = 12;
        boolean[] f32 = {false, false, false, false, true, true};
        for (int[] nc : new int[][] {{4, 1, 0}, {4, 2, 1}, {3, 3, 1}}) {
            int n = nc[0], pooled = nc[1];
            boolean silu = nc[2] == 1;
            long size = (long) n * h * w * c;
            compare(dt, "groupNormBackwardAffine pooled=" + pooled + " silu=" + silu, Kind.NORM_ATTN,
                    new float[][] {Emu.random(r, (int) size, 2f), Emu.random(r, c, 1f), rnd(c), rnd(size), rnd(c), rnd(c)},
                    new int[][] {{n, h, w, c}, {c}, {c}, {n, h, w, c}, {c}, {c}}, f32, new int[] {4, 5},
                    (g, t) -> g.groupNormBackwardAffine(t[0], 4, pooled, t[1], t[2], 1e-5f, silu, t[3], t[4], t[5]));
        }
        int rows = 7, cc = 37;
        compare(dt, "layerNormBackwardAffine", Kind.REDUCE,
                new float[][] {Emu.random(r, rows * cc, 1f), Emu.random(r, cc, 1f), rnd(rows * cc), rnd(cc), rnd(cc)},
                new int[][] {{rows, cc}, {cc}, {rows, cc}, {cc}, {cc}}, new boolean[] {false, false, false, true, true},
                new int[] {3, 4}, (g, t) -> g.layerNormBackwardAffine(t[0], t[1], 1e-5f, t[2], t[3], t[4]));
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void norms(DType dt) {
        int h = 5, w = 3, c = 12;
        for (int[] nc : new int[][] {{4, 1, 0}, {4, 2, 1}, {3, 3, 1}}) {
            int n = nc[0], pooled = nc[1];
            boolean silu = nc[2] == 1;
            long size = (long) n * h * w * c;
            compare(dt, "groupNormBackward pooled=" + pooled + " silu=" + silu, Kind.NORM_ATTN,
                    new float[][] {Emu.random(r, (int) size, 2f), Emu.random(r, c, 1f), rnd(c), rnd(size), zeros(size)},
                    new int[][] {{n, h, w, c}, {c}, {c}, {n, h, w, c}, {n, h, w, c}}, new int[] {4},
                    (g, t) -> g.groupNormBackward(t[0], 4, pooled, t[1], t[2], 1e-5f, silu, t[3], t[4]));
        }
        int rows = 7, cc = 37;
        compare(dt, "layerNormBackward", Kind.REDUCE, new float[][] {Emu.random(r, rows * cc, 1f), Emu.random(r, cc, 1f), rnd(rows * cc), zeros(rows * cc)},
                new int[][] {{rows, cc}, {cc}, {rows, cc}, {rows, cc}}, new int[] {3},
                (g, t) -> g.layerNormBackward(t[0], t[1], 1e-5f, t[2], t[3]));
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void pointwise(DType dt) {
        int rows = 5, d = 19;
        compare(dt, "gegluBackward", Kind.POINT, new float[][] {rnd(rows * 2 * d), rnd(rows * d), zeros(rows * 2 * d)},
                new int[][] {{rows, 2 * d}, {rows, d}, {rows, 2 * d}}, new int[] {2}, (g, t) -> g.gegluBackward(t[0], t[1], t[2]));
        int n = 1031;
        for (Activation act : Activation.values()) {
            float[] x = rnd(n);
            // exp' = exp turns the input's rounding δx into a relative error δx: keep |x| < 2 for it (the others span ±9)
            for (int i = 0; i < n; i++) x[i] *= act == Activation.EXP ? 0.5f : 3;
            compare(dt, "activationBackward " + act, Kind.POINT, new float[][] {x, rnd(n), zeros(n)}, new int[][] {{n}, {n}, {n}},
                    new int[] {2}, (g, t) -> g.activationBackward(act, t[0], t[1], t[2]));
        }
        compare(dt, "upsampleNearestBackward", Kind.POINT, new float[][] {rnd(2L * 7 * 11 * 3), zeros(2L * 3 * 5 * 3)},
                new int[][] {{2, 7, 11, 3}, {2, 3, 5, 3}}, new int[] {1}, (g, t) -> g.upsampleNearestBackward(t[0], t[1]));
        compare(dt, "addChannelBiasBackward", Kind.REDUCE, new float[][] {rnd(6L * 5 * 7 * 9), rnd(2 * 9)},
                new int[][] {{6, 5, 7, 9}, {2, 9}}, new int[] {1}, (g, t) -> g.addChannelBiasBackward(t[0], 3, t[1]));
        int p = 13, ca = 3, cb = 5;
        compare(dt, "splitChannels", Kind.MOVE, new float[][] {rnd(p * (ca + cb)), zeros(p * ca), zeros(p * cb)},
                new int[][] {{p, ca + cb}, {p, ca}, {p, cb}}, new int[] {1, 2}, (g, t) -> g.splitChannels(t[0], t[1], t[2]));
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void matmul(DType dt) {
        int m = 23, kk = 70, n = 11;
        compare(dt, "matmulBackwardInput", Kind.REDUCE, new float[][] {rnd(m * n), rnd(kk * n), zeros(m * kk)},
                new int[][] {{m, n}, {kk, n}, {m, kk}}, new int[] {2}, (g, t) -> g.matmulBackwardInput(t[0], t[1], t[2]));
        // half x and dY into fp32 dW and dBias (the master gradients), accumulating onto non-zero values
        compare(dt, "matmulBackwardWeight into F32", Kind.REDUCE, new float[][] {rnd(m * kk), rnd(m * n), rnd(kk * n), rnd(n)},
                new int[][] {{m, kk}, {m, n}, {kk, n}, {n}}, new boolean[] {false, false, true, true}, new int[] {2, 3},
                (g, t) -> g.matmulBackwardWeight(t[0], t[1], t[2], t[3]));
        compare(dt, "matmulBackwardWeight in " + dt, Kind.REDUCE, new float[][] {rnd(m * kk), rnd(m * n), rnd(kk * n), null},
                new int[][] {{m, kk}, {m, n}, {kk, n}, null}, new int[] {2}, (g, t) -> g.matmulBackwardWeight(t[0], t[1], t[2], null));
    }

    /** fp32 gradients of a half-precision backend: one launch and one read-back for all of them, equal to the CPU's sum. */
    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void sumOfSquaresOverSeveralF32Tensors(DType dt) {
        CudaOps ops = target(dt);
        float[][] xs = {rnd(100_003), rnd(7), rnd(4096)};
        double exact = 0;
        for (float[] x : xs) for (float v : x) exact += (double) v * v;
        Tensor[] dev = new Tensor[xs.length];
        try {
            for (int i = 0; i < xs.length; i++) {
                try (Tensor h = Tensor.of(xs[i], xs[i].length)) {
                    dev[i] = ops.upload(h, DType.F32);
                }
            }
            double got = ops.grad().sumOfSquares(List.of(dev));
            assertEquals(exact, got, exact * 1e-12, "sum of squares over 3 tensors");
            assertEquals(got, ops.grad().sumOfSquares(List.of(dev)), 0, "reproducible (the cached table)");
            try (Tensor h = Tensor.of(new float[] {1f, Float.POSITIVE_INFINITY}, 2); Tensor inf = ops.upload(h, DType.F32)) {
                assertTrue(Double.isInfinite(ops.grad().sumOfSquares(List.of(dev[0], inf))), "an Inf element makes the sum non-finite");
            }
            try (Tensor h = Tensor.of(new float[] {Float.NaN}, 1); Tensor nan = ops.upload(h, DType.F32)) {
                assertTrue(Double.isNaN(ops.grad().sumOfSquares(List.of(nan, dev[1]))), "a NaN element makes the sum NaN");
            }
        } finally {
            for (Tensor t : dev) if (t != null) t.close();
        }
    }

    @Test
    void optimizerAndMixedTypesAreRefusedByName() {
        CudaOps ops = target(DType.BF16);
        try (Tensor p = ops.allocate(8); Tensor g = ops.allocate(DType.F32, 8); Tensor m = ops.allocate(DType.F32, 8);
             Tensor v = ops.allocate(DType.F32, 8); Tensor x = ops.allocate(DType.F16, 4, 8); Tensor dy = ops.allocate(4, 8);
             Tensor dx = ops.allocate(4, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ops.grad().adamW(p, g, m, v, 1f, 1e-3f, 0.9f, 0.999f, 0f, 1e-8f, 1));
            assertTrue(e.getMessage().contains("BF16") && e.getMessage().contains("fp32"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> ops.grad().activationBackward(Activation.SILU, x, dy, dx));
            assertTrue(e.getMessage().contains("F16") && e.getMessage().contains("BF16"), e.getMessage());
        }
    }
}
