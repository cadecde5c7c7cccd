package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.device.DeviceApi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * <p>Everything goes through {@code ops.grad().attentionBackward} of a backend over a {@link LaunchRecorder}: every case
 * checks which kernels ran and that the CUDA-core pair ({@code useTensorCores(false)}), run on the same inputs, gives
 * different bits, so the test cannot pass by falling back.
 */
public class TensorCoreAttentionGradTest {
    private static final Ops CPU = new CpuOps();

    /** The device the kernels run on: the emulated one here. */
    DeviceApi device() {
        return Emu.ops().device();
    }

    String tag() {
        return "[emu-measure]";
    }

    static double tolerance(DType t) {
        return 4 * (t == DType.BF16 ? 0x1p-8 : 0x1p-11);
    }

    /** Gradients of one device run and the attention-backward kernels it launched. */
    record Run(float[][] grads, List<String> kernels) {}

    /** The backward of c on a {@code dt} backend over device() with the tensor cores on or off, through ops.grad(). */
    Run onDevice(DType dt, boolean tensorCores, Case c) {
        LaunchRecorder rec = new LaunchRecorder(device());
        try (CudaOps ops = new CudaOps(rec, "recorded", dt)) {
            ops.useTensorCores(tensorCores);
            float[][] g = run(ops, c);
            return new Run(g, rec.take().stream().filter(k -> k.startsWith("attention_bwd")).toList());
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
    static float[][] run(Ops ops, Case c) {
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
            ops.grad().attentionBackward(c.kind, c.frames, c.heads, c.scale(), t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
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

    /** The inputs as storage type dt holds them (one upload/download round trip). */
    Case rounded(DType dt, Case c) {
        float[][] in = new float[4][];
        int[][] sh = c.shapes();
        try (CudaOps ops = new CudaOps(device(), "rounding", dt)) {
            for (int i = 0; i < 4; i++) {
                try (Tensor h = Tensor.of(c.in[i], sh[i]); Tensor dev = ops.upload(h); Tensor back = ops.download(dev)) {
                    in[i] = back.toArray();
                }
            }
        }
        return new Case(c.kind, c.frames, c.heads, c.n, c.l, c.nk, c.lk, c.ch, c.keys, in);
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
        Case c = rounded(dt, newCase(r, kind, batch, frames, l, lk, heads, d, keys));
        float[][] ref = run(CPU, c);
        Run on = onDevice(dt, true, c), off = onDevice(dt, false, c);
        float[][] tc = on.grads(), cc = off.grads();
        String t = dt == DType.BF16 ? "bf16" : "f16";
        String tcPad = "_d" + TensorCoreKernelsTest.pad(d) + "_" + t, ccPad = "_d" + CudaKernels.HEAD_BUCKETS[CudaKernels.headBucket(d)] + "_" + t;
        assertEquals(keys ? List.of("attention_bwd_tc_q" + tcPad, "attention_bwd_tc_kv" + tcPad) : List.of("attention_bwd_tc_q" + tcPad),
                on.kernels(), c.what() + ": kernels that ran with tensor cores on");
        assertEquals(keys ? List.of("attention_bwd_q" + ccPad, "attention_bwd_kv" + ccPad) : List.of("attention_bwd_q" + ccPad),
                off.kernels(), c.what() + ": kernels that ran with tensor cores off");
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
        Case c = newCase(r, AttentionKind.SPARSE_CAUSAL, 1, 3, 40, 40, 2, 40, true);
        float[][] a = onDevice(DType.BF16, true, c).grads(), b = onDevice(DType.BF16, true, c).grads();
        for (int o = 0; o < 3; o++) assertArrayEquals(a[o], b[o], "gradient " + o + " differs between two runs");
    }

    @ParameterizedTest(name = "{0} {1} D={2} -> {3}")
    @CsvSource({
            "F32,  SELF,     40, attention_bwd_q_d40_f32",           // fp32 keeps the exact CUDA-core kernels
            "BF16, TEMPORAL, 40, attention_bwd_temporal_q_d40_bf16", // temporal has its own kernels
            "F16,  SELF,     12, attention_bwd_q_d16_f16",           // head size not a multiple of 8
    })
    void uncoveredCallsFallBack(DType dt, AttentionKind kind, int d, String kernel) {
        Case c = newCase(r, kind, 1, 3, 9, 9, 2, d, true);
        assertEquals(kernel, onDevice(dt, true, c).kernels().getFirst(), c.what());
    }

    /** The first attention-backward and attention-forward kernels a backward and a forward of c launched. */
    record Ran(String backward, String forward) {}

    /** One backward and one forward (SELF on q) of c on a {@code dt} backend over rec; tensor cores forced on, or as the settings say. */
    Ran backwardAndForward(LaunchRecorder rec, DType dt, Case c, boolean forceTensorCores) {
        return backwardAndForward(rec, BackendSettings.DEFAULTS.withPrecision(dt), c, forceTensorCores);
    }

    /** As above, on a backend made with {@code settings}. */
    Ran backwardAndForward(LaunchRecorder rec, BackendSettings settings, Case c, boolean forceTensorCores) {
        try (CudaOps ops = new CudaOps(rec, "recorded", settings)) {
            if (forceTensorCores) ops.useTensorCores(true);
            run(ops, c);
            int[] sh = c.shapes()[0];
            try (Tensor h = Tensor.of(c.in[0], sh); Tensor q = ops.upload(h); Tensor out = ops.allocate(sh)) {
                ops.attention(AttentionKind.SELF, 1, 1, c.scale(), q, q, q, out);
            }
        }
        List<String> ran = rec.take();
        return new Ran(ran.stream().filter(k -> k.startsWith("attention_bwd")).findFirst().orElseThrow(),
                ran.stream().filter(k -> k.startsWith("attention_") && !k.startsWith("attention_bwd")).findFirst().orElseThrow());
    }

    /** The settings' tensor-core switch off (-Dtav.cuda.tensorCores=false at the entry point) turns the kernels off, backward too. */
    @Test
    void offSwitchTurnsThemOff() {
        Case c = newCase(r, AttentionKind.SELF, 1, 1, 9, 9, 1, 16, false);
        for (boolean on : new boolean[] {false, true}) {
            BackendSettings s = BackendSettings.DEFAULTS.withPrecision(DType.F16).withTensorCores(on);
            String bwd = backwardAndForward(new LaunchRecorder(device()), s, c, false).backward();
            assertEquals(on, bwd.startsWith("attention_bwd_tc_"), "tensorCores " + on + " ran " + bwd);
        }
    }

    /** The backward's own switch off turns the backward's tensor-core kernels off and leaves the forward's on. */
    @Test
    void backwardOffSwitchKeepsTheForwardOnTensorCores() {
        Case c = newCase(r, AttentionKind.SELF, 1, 1, 9, 9, 1, 16, true);
        for (boolean on : new boolean[] {false, true}) {
            BackendSettings s = BackendSettings.DEFAULTS.withPrecision(DType.F16).withTensorCoresBackward(on);
            Ran ran = backwardAndForward(new LaunchRecorder(device()), s, c, false);
            assertEquals(on, ran.backward().startsWith("attention_bwd_tc_"), "backward switch " + on + " ran " + ran.backward());
            assertTrue(ran.forward().startsWith("attention_tc_"), "the forward stays on tensor cores: " + ran.forward());
        }
    }

    /** The documented switches reach the settings from the entry point's properties and environment. */
    @Test
    void theDocumentedSwitchesBecomeSettings() {
        BackendSettings off = BackendSettings.fromSystem(java.util.Map.of("tav.cuda.tensorCores", "false")::get, k -> null);
        assertFalse(off.tensorCores());
        BackendSettings env = BackendSettings.fromSystem(k -> null, java.util.Map.of("TAV_CUDA_TENSOR_CORES_BACKWARD", "0")::get);
        assertTrue(env.tensorCores());
        assertFalse(env.tensorCoresBackward());
        assertTrue(BackendSettings.fromSystem(k -> null, k -> null).backwardTensorCores());
    }

    /**
     * On a device with less shared memory per block (99 KiB: most consumer GPUs), the tensor-core attention kernels
     * whose tiles do not fit are not chosen, forward or backward: SD 1.5's head size 80 (backward 103 KiB) and 160
     * (forward 113 KiB) fall back to the CUDA-core kernels, head size 40 stays on tensor cores.
     */
    @Test
    void kernelsTooLargeForTheDevicesSharedMemoryFallBack() {
        for (int d : new int[] {40, 80, 160}) {
            Case c = newCase(r, AttentionKind.SELF, 1, 1, 9, 9, 1, d, true);
            Ran ran = backwardAndForward(new LaunchRecorder(device()).sharedLimit(99 * 1024), DType.BF16, c, true);
            int dp = d == 40 ? 48 : d;
            boolean bwdFits = Math.max(TensorCoreAttentionGrad.querySmemBytes(dp), TensorCoreAttentionGrad.keySmemBytes(dp)) <= 99 * 1024;
            boolean fwdFits = TensorCoreKernels.attentionSmemBytes(dp) <= 99 * 1024;
            assertEquals(d == 40, bwdFits, "d" + d + " backward fits 99 KiB");
            assertEquals(d != 160, fwdFits, "d" + d + " forward fits 99 KiB");
            assertEquals(bwdFits, ran.backward().startsWith("attention_bwd_tc_"), "d" + d + " backward ran " + ran.backward());
            assertEquals(fwdFits, ran.forward().startsWith("attention_tc_"), "d" + d + " forward ran " + ran.forward());
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
