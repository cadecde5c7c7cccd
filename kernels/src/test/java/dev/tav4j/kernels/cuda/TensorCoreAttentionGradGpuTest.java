package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.device.DeviceApi;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On a real GPU: every emulated case of {@link TensorCoreAttentionGradTest}, then the attention shapes of tuning
 * SD 1.5 (one 8-frame video at 64×64 latents and the deeper levels), where the tensor-core backward in BF16/F16 is
 * compared with the exact fp32 CUDA-core backward on the same rounded inputs (tolerance 4u as in the base class; the
 * fp32 kernels are ~1e-6 from float64) and both the tensor-core and the CUDA-core pair of the same storage type are
 * timed (device events around the two launches, mean of 5 after one warm-up). TFLOP/s count 5 matrix products of
 * 2·D flops per (query, key) pair, FlashAttention's convention (the kernels also recompute S and dP: 9 products).
 * Prints "[gpu-measure]" lines.
 */
@Tag("gpu")
class TensorCoreAttentionGradGpuTest extends TensorCoreAttentionGradTest {
    private static final int REPS = 5;

    @Override
    DeviceApi device() {
        return RealGpu.ops().device();
    }

    @Override
    String tag() {
        return "[gpu-measure]";
    }

    @ParameterizedTest(name = "{1} {0} frames {2} L {3} Lk {4} heads {5} D {6}")
    @CsvSource({
            "BF16, SPARSE_CAUSAL, 8, 4096, 4096, 8,  40",  // attn1 at 64x64 latents
            "F16,  SPARSE_CAUSAL, 8, 4096, 4096, 8,  40",
            "BF16, CROSS,         8, 4096,   77, 8,  40",  // attn2 at 64x64
            "BF16, SPARSE_CAUSAL, 8, 1024, 1024, 8,  80",
            "BF16, SPARSE_CAUSAL, 8,  256,  256, 8, 160",
            "BF16, SELF,          2, 4096, 4096, 8,  40",
    })
    void sd15ShapesAgainstFp32(DType dt, AttentionKind kind, int frames, int l, int lk, int heads, int d) {
        Case c = rounded(dt, newCase(new Random(l + d), kind, 1, frames, l, lk, heads, d, true));
        float[][] ref, got;
        double[] ms = new double[2];
        try (CudaOps exact = new CudaOps(device(), "fp32", DType.F32); CudaOps half = new CudaOps(device(), "half", dt)) {
            ref = run(exact, c);
            half.useTensorCores(true);
            got = run(half, c);
            ms[0] = time(half, c);
            half.useTensorCores(false);
            ms[1] = time(half, c);
        }
        long keys = kind == AttentionKind.SPARSE_CAUSAL ? 2L * lk : lk;
        double flops = 10.0 * c.n() * heads * (double) l * keys * d;
        double tol = tolerance(dt);
        String[] names = {"dQ", "dK", "dV"};
        StringBuilder errs = new StringBuilder();
        for (int o = 0; o < 3; o++) errs.append(String.format(Locale.ROOT, " %s %.2e", names[o], Emu.relError(got[o], ref[o])));
        System.out.printf(Locale.ROOT, "%s %s attention backward %s: tensor cores %.3f ms (%.1f TFLOP/s), CUDA cores %.3f ms (%.1f TFLOP/s), error vs fp32%s (tolerance %.2e)%n",
                tag(), dt, c.what(), ms[0], flops / ms[0] / 1e9, ms[1], flops / ms[1] / 1e9, errs, tol);
        for (int o = 0; o < 3; o++) {
            double e = Emu.relError(got[o], ref[o]);
            assertTrue(e <= tol, dt + " " + c.what() + " " + names[o] + ": relative error " + e + " against the fp32 kernels, above " + tol);
        }
    }

    /** Mean device milliseconds of one backward call (both phases) over REPS calls after a warm-up call. */
    private static double time(CudaOps ops, Case c) {
        DeviceApi api = ops.device();
        int[][] sh = c.shapes();
        Tensor[] t = new Tensor[7];
        long start = api.eventCreate(), end = api.eventCreate();
        try {
            for (int i = 0; i < 4; i++) {
                try (Tensor h = Tensor.of(c.in()[i], sh[i])) {
                    t[i] = ops.upload(h);
                }
            }
            t[4] = ops.allocate(sh[0]);
            t[5] = ops.allocate(sh[1]);
            t[6] = ops.allocate(sh[1]);
            Runnable call = () -> ops.grad().attentionBackward(c.kind(), c.frames(), c.heads(), c.scale(), t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
            call.run();
            api.eventRecord(start);
            for (int i = 0; i < REPS; i++) call.run();
            api.eventRecord(end);
            api.synchronize();
            return api.eventElapsedMillis(start, end) / REPS;
        } finally {
            api.eventDestroy(start);
            api.eventDestroy(end);
            for (Tensor x : t) if (x != null) x.close();
        }
    }
}
