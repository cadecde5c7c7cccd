package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tensor-core attention backward (attention_grad_tc.cu through {@link TensorCoreAttentionGrad} and
 * {@link CudaAttentionGrad}) in BF16 and F16 against the fp32 CPU backward ({@code CpuAttentionGrad}) on the SAME
 * inputs: q, k, v, dO are rounded to the storage type once and the CPU gets the rounded values, so the error is the
 * kernel's own (emulated device here: WMMA as whole-tile fragments; a GPU in {@link TensorCoreAttentionGradGpuTest}).
 * Shapes are small but odd: token counts that are not multiples of the 64-row tiles, head sizes 8 and 24 (padded to
 * 16 and 32) besides 40, 64, 80, 160, several heads, two batch items, sparse-causal with 1 (frame 0 reads itself
 * twice), 2, 3 and 4 frames, 77 cross keys.
 *
 * <p>Metric max |got − cpu| / max |cpu| per gradient. Tolerance 4u (u = 2^-8 bf16, 2^-11 f16): P and dS are rounded
 * to the storage type before their tensor-core products (u each, relative per element; dS = P (dP − D) itself is
 * formed in fp32 from fp32 dot products, so its cancellation costs ~1e-6, not u), the sums are fp32, the gradient
 * is rounded once (u/2); the per-element errors of a sum of many terms of both signs add up to at most about 2u of
 * the largest result (measured on the emulator: at most 1.3u for bf16, 1.6u for f16). This is half the 8u that
 * {@link CudaGradHalfVsCpuTest} allows, whose error also includes rounding the inputs.
 *
 * <p>Every case also checks which kernels ran ({@link CudaAttentionGrad#launched()}) and that the CUDA-core pair,
 * run on the same inputs, gives different bits, so the test cannot pass by falling back.
 */
public class TensorCoreAttentionGradTest {
    private static final Ops CPU = new CpuOps();

    /** The F32 backend whose device the kernels run on: the emulated device here. */
    CudaOps base() {
        return Emu.ops();
    }

    String tag() {
        return "[emu-measure]";
    }

    static double tolerance(DType t) {
        return 4 * (t == DType.BF16 ? 0x1p-8 : 0x1p-11);
    }

    /** A standalone attention backward over ops' device (the one inside CudaGradOps is not reachable from here). */
    record Grad(CudaGradLaunch launch, DeviceScratch stats, CudaAttentionGrad attention) implements AutoCloseable {
        static Grad over(CudaOps ops, boolean tensorCores) {
            CudaGradLaunch l = new CudaGradLaunch(ops.device());
            DeviceScratch s = new DeviceScratch(ops.device());
            CudaAttentionGrad a = new CudaAttentionGrad(l, new CudaGradKernels(ops.device()), s);
            a.useTensorCores(tensorCores);
            return new Grad(l, s, a);
        }

        @Override public void close() {
            stats.close();
            launch.close();
        }
    }

    /** One call: shapes and the inputs q, k, v, dO. */
    record Case(AttentionKind kind, int frames, int heads, int n, int l, int nk, int lk, int ch, boolean keys, float[][] in) {
        int[][] shapes() {
            return new int[][] {{n, l, ch}, {nk, lk, ch}, {nk, lk, ch}, {n, l, ch}};
        }

        float scale() {
            return (float) (1 / Math.sqrt((double) ch / heads));
        }

        String what() {
            return String.format(Locale.ROOT, "%s n=%d frames=%d L=%d Lk=%d heads=%d D=%d%s", kind, n, frames, l, lk, heads, ch / heads,
                    keys ? "" : " (dQ only)");
        }
    }

    static Case newCase(Random r, AttentionKind kind, int batch, int frames, int l, int lk, int heads, int d, boolean keys) {
        int n = batch * frames, ch = heads * d, nk = kind == AttentionKind.CROSS ? batch : n;
        return new Case(kind, frames, heads, n, l, nk, lk, ch, keys, new float[][] {Emu.random(r, n * l * ch, 0),
                Emu.random(r, nk * lk * ch, 0), Emu.random(r, nk * lk * ch, 0), Emu.random(r, n * l * ch, 0)});
    }

    /** Runs the backward on ops (inputs uploaded in its precision); returns dQ, dK, dV (dK, dV null without keys). */
    static float[][] run(Ops ops, CudaAttentionGrad device, Case c) {
        int[][] sh = c.shapes();
        Tensor[] t = new Tensor[7];
        try {
            for (int i = 0; i < 4; i++) {
                try (Tensor h = Tensor.of(c.in[i], sh[i])) {
                    t[i] = ops.upload(h);
                }
            }
            t[4] = ops.allocate(sh[0]);
            if (c.keys) {
                t[5] = ops.allocate(sh[1]);
                t[6] = ops.allocate(sh[1]);
            }
            if (device != null) device.run(c.kind, c.frames, c.heads, c.scale(), t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
            else ops.grad().attentionBackward(c.kind, c.frames, c.heads, c.scale(), t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
            float[][] out = new float[3][];
            for (int o = 0; o < 3; o++) {
                if (t[4 + o] == null) continue;
                try (Tensor h = ops.download(t[4 + o])) {
                    out[o] = h.toArray();
                }
            }
            return out;
        } finally {
            for (Tensor x : t) if (x != null) x.close();
        }
    }

    /** The inputs as the storage type dt holds them (one upload/download round trip). */
    static Case rounded(CudaOps ops, Case c) {
        float[][] in = new float[4][];
        int[][] sh = c.shapes();
        for (int i = 0; i < 4; i++) {
            try (Tensor h = Tensor.of(c.in[i], sh[i]); Tensor dev = ops.upload(h); Tensor back = ops.download(dev)) {
                in[i] = back.toArray();
            }
        }
        return new Case(c.kind, c.frames, c.heads, c.n, c.l, c.nk, c.lk, c.ch, c.keys, in);
    }

    static String pad(int d) {
        return "d" + TensorCoreKernelsTest.pad(d) + "_";
    }

    private final Random r = new Random(23);

    @ParameterizedTest(name = "{0} {1} batch={2} frames={3} L={4} Lk={5} heads={6} D={7} keys={8}")
    @CsvSource({
            "BF16, SELF,          2, 1, 70, 70, 2,  40, true",   // 2 query and key blocks of 64, both partial
            "F16,  SELF,          2, 1, 70, 70, 2,  40, true",
            "BF16, SELF,          2, 1, 19, 19, 2,   8, true",   // D 8: padded to 16
            "F16,  SELF,          1, 1, 70, 70, 1, 160, true",
            "BF16, CAUSAL,        2, 1, 70, 70, 2,  64, true",   // key blocks start at their own query tile
            "F16,  CAUSAL,        2, 1, 67, 67, 1,  24, true",   // D 24: padded to 32
            "BF16, SPARSE_CAUSAL, 2, 1, 37, 37, 2,  40, true",   // one frame: it reads itself twice
            "F16,  SPARSE_CAUSAL, 2, 2, 33, 33, 1,   8, true",   // 66 keys: the second tile straddles frame 0 / f-1
            "BF16, SPARSE_CAUSAL, 2, 3, 37, 37, 2,  80, true",   // frames 0 and 1 read frame 0 twice, frame 2 reads 0 and 1
            "F16,  SPARSE_CAUSAL, 2, 4, 20, 20, 2,  64, true",
            "BF16, SPARSE_CAUSAL, 2, 3, 21, 21, 1, 160, true",
            "BF16, CROSS,         2, 2, 13, 77, 2,  40, true",   // 77 keys = 64 + 13, read by every frame of the item
            "F16,  CROSS,         2, 3, 21, 77, 1, 160, true",
            "F16,  CROSS,         2, 2, 70,  5, 2,  24, true",   // fewer keys than a tile
            "BF16, SPARSE_CAUSAL, 2, 2, 33, 33, 2,  40, false",  // dQ only: the key phase is skipped
    })
    void againstCpuBackward(DType dt, AttentionKind kind, int batch, int frames, int l, int lk, int heads, int d, boolean keys) {
        float[][] ref, tc, cc;
        List<String> tcKernels, ccKernels;
        Case c;
        try (CudaOps ops = base().withPrecision(dt); Grad on = Grad.over(ops, true); Grad off = Grad.over(ops, false)) {
            c = rounded(ops, newCase(r, kind, batch, frames, l, lk, heads, d, keys));
            ref = run(CPU, null, c);
            tc = run(ops, on.attention(), c);
            tcKernels = on.attention().launched();
            cc = run(ops, off.attention(), c);
            ccKernels = off.attention().launched();
        }
        String t = dt == DType.BF16 ? "bf16" : "f16";
        List<String> want = keys ? List.of("attention_bwd_tc_q_" + pad(d) + t, "attention_bwd_tc_kv_" + pad(d) + t)
                : List.of("attention_bwd_tc_q_" + pad(d) + t);
        assertEquals(want, tcKernels, c.what() + ": kernels that ran with tensor cores on");
        assertTrue(ccKernels.stream().allMatch(k -> k.startsWith("attention_bwd_q_") || k.startsWith("attention_bwd_kv_")),
                c.what() + ": kernels with tensor cores off " + ccKernels);
        boolean differs = false;
        String[] names = {"dQ", "dK", "dV"};
        double tol = tolerance(dt);
        for (int o = 0; o < 3; o++) {
            if (!keys && o > 0) continue;
            double e = Emu.relError(tc[o], ref[o]), ecc = Emu.relError(cc[o], ref[o]);
            System.out.printf(Locale.ROOT, "%s %s attention backward %s %s: tensor cores %.2e (%.2fu), CUDA cores %.2e (tolerance %.2e)%n",
                    tag(), dt, c.what(), names[o], e, e / (tol / 4), ecc, tol);
            assertTrue(e <= tol, dt + " " + c.what() + " " + names[o] + ": relative error " + e + " above " + tol);
            differs |= !Arrays.equals(tc[o], cc[o]);
        }
        assertTrue(differs, c.what() + ": tensor-core results are bit-identical to the CUDA-core kernels'");
    }

    @Test
    void reproducibleBitForBit() {
        CudaOps ops = base().withPrecision(DType.BF16);
        Case c = newCase(r, AttentionKind.SPARSE_CAUSAL, 1, 3, 40, 40, 2, 40, true);
        try (Grad g = Grad.over(ops, true)) {
            float[][] a = run(ops, g.attention(), c), b = run(ops, g.attention(), c);
            for (int o = 0; o < 3; o++) assertArrayEquals(a[o], b[o], "gradient " + o + " differs between two runs");
        }
    }

    @ParameterizedTest(name = "{0} {1} D={2} -> {3}")
    @CsvSource({
            "F32,  SELF,     40, attention_bwd_q_d40_f32",           // fp32 keeps the exact CUDA-core kernels
            "BF16, TEMPORAL, 40, attention_bwd_temporal_q_d40_bf16", // temporal has its own kernels
            "F16,  SELF,     12, attention_bwd_q_d16_f16",           // head size not a multiple of 8
    })
    void uncoveredCallsFallBack(DType dt, AttentionKind kind, int d, String kernel) {
        CudaOps ops = base().withPrecision(dt);
        Case c = newCase(r, kind, 1, 3, 9, 9, 2, d, true);
        try (Grad g = Grad.over(ops, true)) {
            run(ops, g.attention(), c);
            assertEquals(kernel, g.attention().launched().getFirst(), c.what());
        }
    }

    @Test
    void offSwitchTurnsThemOff() {
        CudaOps ops = base().withPrecision(DType.F16);
        Case c = newCase(r, AttentionKind.SELF, 1, 1, 9, 9, 1, 16, false);
        String old = System.getProperty(TensorCoreKernels.PROPERTY);
        try {
            for (String v : new String[] {"false", "true"}) {
                System.setProperty(TensorCoreKernels.PROPERTY, v);
                CudaGradLaunch l = new CudaGradLaunch(ops.device());
                try (l; DeviceScratch s = new DeviceScratch(ops.device())) {
                    CudaAttentionGrad a = new CudaAttentionGrad(l, new CudaGradKernels(ops.device()), s);
                    run(ops, a, c);
                    String first = a.launched().getFirst();
                    assertEquals(v.equals("true"), first.startsWith("attention_bwd_tc_"), "-D" + TensorCoreKernels.PROPERTY + "=" + v + " ran " + first);
                }
            }
        } finally {
            if (old == null) System.clearProperty(TensorCoreKernels.PROPERTY);
            else System.setProperty(TensorCoreKernels.PROPERTY, old);
        }
    }

    @Test
    void sharedMemoryFitsTheDevice() {
        for (int dp : TensorCoreKernels.HEAD_PADS) {
            int q = TensorCoreAttentionGrad.querySmemBytes(dp), k = TensorCoreAttentionGrad.keySmemBytes(dp);
            assertTrue(k > q && k <= TensorCoreAttentionGrad.SMEM_LIMIT, "d" + dp + ": " + q + " / " + k + " bytes");
        }
    }
}
