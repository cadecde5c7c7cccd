package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Locale;
import java.util.Random;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op of {@link Ops} on the CUDA backend in BF16 and F16 storage (over the emulated device here, a GPU in
 * {@link CudaPrecisionVsCpuOpsGpuTest}) against the F32 CPU backend on the same F32 inputs, so the error
 * includes rounding the inputs. Metric: max |cuda − cpu| / max |cpu|. Tolerances, from the storage's unit
 * roundoff u (2^-8 for bf16's 8 significant bits, 2^-11 for f16's 11):
 * <ul>
 *   <li>MOVE (permute, concat, gather, upsample, copy, upload/download): one rounding of each value, ≤ u;
 *   <li>POINT (axpby, activations, GEGLU, channel bias, DDIM step, timestep embedding): inputs and output
 *       rounded, arguments amplified by at most a few: 3u;
 *   <li>REDUCE (matmul, conv, attention, GroupNorm, LayerNorm): rounded inputs through an fp32 reduction plus
 *       a rounded output; the normalisations divide by a standard deviation smaller than the values: 6u.
 * </ul>
 */
public class CudaPrecisionVsCpuOpsTest {
    private static final Ops CPU = new CpuOps();

    enum Kind { MOVE, POINT, REDUCE }

    static double tolerance(DType t, Kind kind) {
        double u = switch (t) {
            case BF16 -> 0x1p-8;
            case F16 -> 0x1p-11;
            case F32 -> 0x1p-20;
        };
        return switch (kind) {
            case MOVE -> u;
            case POINT -> 3 * u;
            case REDUCE -> 6 * u;
        };
    }

    /** The CUDA backend under test in {@code precision}: over the emulated device here. */
    CudaOps target(DType precision) {
        return Emu.ops().withPrecision(precision);
    }

    /** Prefix of the measured-error lines (the GPU runner gathers "[gpu-measure]"). */
    String tag() {
        return "[emu-measure]";
    }

    private final Random r = new Random(77);

    private void compare(DType dt, String what, Kind kind, float[][] inputs, int[][] shapes, int[] outShape, BiConsumer<Ops, Tensor[]> op) {
        float[][] results = new float[2][];
        Ops[] backends = {CPU, target(dt)};
        for (int b = 0; b < 2; b++) {
            Ops ops = backends[b];
            Tensor[] ts = new Tensor[inputs.length + 1];
            for (int i = 0; i < inputs.length; i++) {
                try (Tensor h = Tensor.of(inputs[i], shapes[i])) {
                    ts[i] = ops.upload(h);
                }
            }
            ts[inputs.length] = ops.allocate(outShape);
            if (b == 1) for (Tensor t : ts) assertEquals(dt, t.dtype(), what + ": tensor " + t + " of the " + dt + " backend");
            op.accept(ops, ts);
            try (Tensor h = ops.download(ts[inputs.length])) {
                assertEquals(DType.F32, h.dtype(), "download returns F32");
                results[b] = h.toArray();
            }
            for (Tensor t : ts) t.close();
        }
        double tol = tolerance(dt, kind), e = Emu.relError(results[1], results[0]);
        System.out.printf(Locale.ROOT, "%s %s %s: relative error %.2e (tolerance %.2e)%n", tag(), dt, what, e, tol);
        assertTrue(e <= tol, dt + " " + what + ": relative error " + e + " above " + tol);
    }

    private float[] rnd(int n, float offset) { return Emu.random(r, n, offset); }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void matmul(DType dt) {
        compare(dt, "matmul", Kind.REDUCE, new float[][] {rnd(3 * 5 * 70, 0), rnd(70 * 33, 0)}, new int[][] {{3, 5, 70}, {70, 33}},
                new int[] {3, 5, 33}, (ops, t) -> ops.matmul(t[0], t[1], null, t[2]));
        compare(dt, "matmul+bias", Kind.REDUCE, new float[][] {rnd(7 * 70, 0), rnd(70 * 33, 0), rnd(33, 0)},
                new int[][] {{7, 70}, {70, 33}, {33}}, new int[] {7, 33}, (ops, t) -> ops.matmul(t[0], t[1], t[2], t[3]));
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void conv2d(DType dt) {
        for (int[] c : new int[][] {{3, 1, 1, 0}, {3, 2, 1, 0}, {3, 2, 0, 1}, {1, 1, 0, 0}}) {
            int k = c[0], stride = c[1], pad = c[2];
            boolean br = c[3] == 1;
            int n = 2, h = 7, w = 6, ci = 5, co = 9, extra = br ? 1 : 2 * pad;
            int ho = (h + extra - k) / stride + 1, wo = (w + extra - k) / stride + 1;
            compare(dt, "conv2d k" + k + " s" + stride + " p" + pad + (br ? " br" : ""), Kind.REDUCE,
                    new float[][] {rnd(n * h * w * ci, 0), rnd(k * k * ci * co, 0), rnd(co, 0)},
                    new int[][] {{n, h, w, ci}, {k, k, ci, co}, {co}}, new int[] {n, ho, wo, co},
                    (ops, t) -> ops.conv2d(t[0], t[1], t[2], stride, pad, br, t[3]));
        }
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void norms(DType dt) {
        for (boolean silu : new boolean[] {false, true}) {
            int pooled = silu ? 2 : 1;
            compare(dt, "groupNorm pooled=" + pooled + " silu=" + silu, Kind.REDUCE,
                    new float[][] {rnd(4 * 5 * 3 * 12, 2f), rnd(12, 1f), rnd(12, 0)}, new int[][] {{4, 5, 3, 12}, {12}, {12}},
                    new int[] {4, 5, 3, 12}, (ops, t) -> ops.groupNorm(t[0], 4, pooled, t[1], t[2], 1e-5f, silu, t[3]));
        }
        compare(dt, "layerNorm", Kind.REDUCE, new float[][] {rnd(5 * 33, 1f), rnd(33, 1f), rnd(33, 0)},
                new int[][] {{5, 33}, {33}, {33}}, new int[] {5, 33}, (ops, t) -> ops.layerNorm(t[0], t[1], t[2], 1e-5f, t[3]));
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void attention(DType dt) {
        int[][] cases = {{0, 2, 1, 19, 2, 40}, {1, 1, 1, 35, 3, 8}, {2, 2, 3, 17, 2, 40}, {3, 2, 2, 11, 2, 40}, {4, 2, 3, 6, 2, 8}};
        for (int[] c : cases) {
            AttentionKind kind = AttentionKind.values()[c[0]];
            int batch = c[1], frames = c[2], l = c[3], heads = c[4], d = c[5];
            int n = batch * frames, ch = heads * d, lk = kind == AttentionKind.CROSS ? 77 : l, nk = kind == AttentionKind.CROSS ? batch : n;
            float scale = (float) (1 / Math.sqrt(d));
            compare(dt, "attention " + kind, Kind.REDUCE, new float[][] {rnd(n * l * ch, 0), rnd(nk * lk * ch, 0), rnd(nk * lk * ch, 0)},
                    new int[][] {{n, l, ch}, {nk, lk, ch}, {nk, lk, ch}}, new int[] {n, l, ch},
                    (ops, t) -> ops.attention(kind, frames, heads, scale, t[0], t[1], t[2], t[3]));
        }
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void pointwise(DType dt) {
        for (Activation act : Activation.values())
            compare(dt, "activation " + act, Kind.POINT, new float[][] {rnd(7 * 11, 0)}, new int[][] {{7, 11}}, new int[] {7, 11},
                    (ops, t) -> ops.activation(act, t[0], t[1]));
        compare(dt, "geglu", Kind.POINT, new float[][] {rnd(4 * 18, 0)}, new int[][] {{4, 18}}, new int[] {4, 9},
                (ops, t) -> ops.geglu(t[0], t[1]));
        compare(dt, "axpby", Kind.POINT, new float[][] {rnd(101, 0), rnd(101, 0)}, new int[][] {{101}, {101}}, new int[] {101},
                (ops, t) -> ops.axpby(0.75f, t[0], -1.5f, t[1], t[2]));
        compare(dt, "addChannelBias", Kind.POINT, new float[][] {rnd(4 * 3 * 2 * 6, 0), rnd(2 * 6, 0)},
                new int[][] {{4, 3, 2, 6}, {2, 6}}, new int[] {4, 3, 2, 6}, (ops, t) -> ops.addChannelBias(t[0], t[1], 2, t[2]));
        compare(dt, "timestepEmbedding", Kind.POINT, new float[0][], new int[0][], new int[] {3, 33},
                (ops, t) -> ops.timestepEmbedding(new float[] {1f, 500f, 981f}, 33, true, 1f, t[0]));
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void dataMovement(DType dt) {
        compare(dt, "upsampleNearest", Kind.MOVE, new float[][] {rnd(2 * 3 * 5 * 4, 0)}, new int[][] {{2, 3, 5, 4}},
                new int[] {2, 6, 10, 4}, (ops, t) -> ops.upsampleNearest(t[0], t[1]));
        compare(dt, "permute", Kind.MOVE, new float[][] {rnd(2 * 3 * 4 * 5, 0)}, new int[][] {{2, 3, 4, 5}},
                new int[] {4, 2, 5, 3}, (ops, t) -> ops.permute(t[0], new int[] {2, 0, 3, 1}, t[1]));
        compare(dt, "concatChannels", Kind.MOVE, new float[][] {rnd(6 * 3, 0), rnd(6 * 5, 0)}, new int[][] {{2, 3, 3}, {2, 3, 5}},
                new int[] {2, 3, 8}, (ops, t) -> ops.concatChannels(t[0], t[1], t[2]));
        compare(dt, "gatherRows", Kind.MOVE, new float[][] {rnd(10 * 7, 0)}, new int[][] {{10, 7}}, new int[] {4, 7},
                (ops, t) -> ops.gatherRows(t[0], new int[] {9, 0, 3, 3}, t[1]));
        compare(dt, "copy", Kind.MOVE, new float[][] {rnd(50, 0)}, new int[][] {{5, 10}}, new int[] {50},
                (ops, t) -> ops.copy(t[0], t[1]));
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void ddimStepAgainstTheFormula(DType dt) {
        CudaOps ops = target(dt);
        float[] x = rnd(257, 0), eps = rnd(257, 0), want = new float[257];
        float a = 0.3f, ap = 0.6f;
        for (int i = 0; i < x.length; i++) {
            double x0 = (x[i] - Math.sqrt(1 - a) * eps[i]) / Math.sqrt(a);
            want[i] = (float) (Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * eps[i]);
        }
        try (Tensor hx = Tensor.of(x, 257); Tensor he = Tensor.of(eps, 257); Tensor tx = ops.upload(hx); Tensor te = ops.upload(he)) {
            ops.ddimStep(tx, te, a, ap, tx);
            try (Tensor got = ops.download(tx)) {
                double e = Emu.relError(got.toArray(), want), tol = tolerance(dt, Kind.POINT);
                assertTrue(e <= tol, dt + " ddimStep: " + e + " above " + tol);
            }
        }
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void storageIsHalfWidthAndMixedTypesAreRejected(DType dt) {
        CudaOps half = target(dt), f32 = half.withPrecision(DType.F32);
        assertSame(half, half.withPrecision(dt));
        try (Tensor h = Tensor.of(new float[] {1f, 2f, 3f}, 3); Tensor a = half.upload(h); Tensor b = f32.upload(h);
             Tensor out = half.allocate(3)) {
            assertEquals(dt, a.dtype());
            assertEquals(6, a.storage().byteSize(), "two bytes per element");
            assertEquals(DType.F32, b.dtype());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> half.axpby(1f, a, 1f, b, out));
            assertTrue(e.getMessage().contains("mixed element types"), e.getMessage());
            half.copy(b, out);  // copy converts between types
            try (Tensor back = half.download(out)) {
                assertEquals(3f, back.get(2));
            }
        }
    }

    @Test
    void precisionNames() {
        assertEquals(DType.BF16, CudaOps.parsePrecision("bf16"));
        assertEquals(DType.F16, CudaOps.parsePrecision("FP16"));
        assertEquals(DType.F32, CudaOps.parsePrecision("fp32"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaOps.parsePrecision("int8"));
        assertTrue(e.getMessage().contains("int8"), e.getMessage());
    }
}
