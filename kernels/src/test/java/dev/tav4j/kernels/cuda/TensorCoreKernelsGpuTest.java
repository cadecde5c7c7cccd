package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Locale;
import java.util.Random;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On a real GPU: every emulated case of {@link TensorCoreKernelsTest}, then the SD 1.5 shapes (8 frames, 64×64
 * latents and the deeper levels), where the tensor-core kernel in BF16/F16 is compared with the exact fp32
 * CUDA-core kernel on the same inputs (tolerance 6u as in the base class; fp32 is itself ~1e-6 from float64) and
 * both the tensor-core and the CUDA-core kernel of the same storage type are timed (device events through the
 * kernel profiler, mean of 5 after one warm-up). Prints "[gpu-measure]" lines that scripts/gpu/run.sh gathers.
 */
@Tag("gpu")
class TensorCoreKernelsGpuTest extends TensorCoreKernelsTest {
    private static final int REPS = 5;

    @Override
    CudaOps target(DType precision) {
        return RealGpu.ops().withPrecision(precision);
    }

    @Override
    String tag() {
        return "[gpu-measure]";
    }

    @ParameterizedTest(name = "conv {0} images {1}x{1} k{4} s{5} {2}->{3}")
    @CsvSource({
            "BF16, 16, 64, 320, 320, 3, 1",   // down/up block 1 at 64x64 latents, batch 2 x 8 frames
            "F16,  16, 64, 320, 320, 3, 1",
            "BF16, 16, 64, 320, 320, 3, 2",   // downsampler
            "BF16, 16, 32, 640, 640, 3, 1",
            "BF16, 16, 16, 1280, 1280, 3, 1",
            "BF16, 16, 32, 320, 640, 1, 1",   // resnet shortcut
            "BF16, 16, 64, 640, 320, 3, 1",   // up block: concatenated skip input
    })
    void sd15ConvAgainstFp32(DType dt, int images, int hw, int ci, int co, int k, int stride) {
        int pad = k / 2, ho = (hw + 2 * pad - k) / stride + 1;
        Random r = new Random(ci * 31 + co);
        realShape(dt, String.format(Locale.ROOT, "conv2d %dx%dx%dx%d k%d s%d ->%d", images, hw, hw, ci, k, stride, co),
                new float[][] {Emu.random(r, images * hw * hw * ci, 0), scaled(Emu.random(r, k * k * ci * co, 0), (float) (1 / Math.sqrt(k * k * ci))),
                        Emu.random(r, co, 0)},
                new int[][] {{images, hw, hw, ci}, {k, k, ci, co}, {co}}, new int[] {images, ho, ho, co},
                (ops, t) -> ops.conv2d(t[0], t[1], t[2], stride, pad, false, t[3]), 2.0 * images * ho * ho * co * k * k * ci);
    }

    @ParameterizedTest(name = "attention {1} {0} frames {2} L {3} heads {4} D {5}")
    @CsvSource({
            "BF16, SPARSE_CAUSAL, 8, 4096, 8, 40",
            "F16,  SPARSE_CAUSAL, 8, 4096, 8, 40",
            "BF16, CROSS,         8, 4096, 8, 40",
            "BF16, SPARSE_CAUSAL, 8, 1024, 8, 80",
            "BF16, SPARSE_CAUSAL, 8,  256, 8, 160",
            "BF16, SELF,          2, 4096, 8, 40",
    })
    void sd15AttentionAgainstFp32(DType dt, AttentionKind kind, int frames, int l, int heads, int d) {
        int batch = 2, n = batch * frames, c = heads * d;
        int lk = kind == AttentionKind.CROSS ? 77 : l, nk = kind == AttentionKind.CROSS ? batch : n;
        int keys = kind == AttentionKind.SPARSE_CAUSAL ? 2 * lk : lk;
        float scale = (float) (1 / Math.sqrt(d));
        Random r = new Random(l + d);
        realShape(dt, String.format(Locale.ROOT, "attention %s %d images x %d tokens, %d heads of %d", kind, n, l, heads, d),
                new float[][] {Emu.random(r, n * l * c, 0), Emu.random(r, nk * lk * c, 0), Emu.random(r, nk * lk * c, 0)},
                new int[][] {{n, l, c}, {nk, lk, c}, {nk, lk, c}}, new int[] {n, l, c},
                (ops, t) -> ops.attention(kind, frames, heads, scale, t[0], t[1], t[2], t[3]), 4.0 * n * heads * (double) l * keys * d);
    }

    private static float[] scaled(float[] a, float s) {
        for (int i = 0; i < a.length; i++) a[i] *= s;
        return a;
    }

    /** The error of the tensor-core kernel against the fp32 kernel, then both half-precision kernels timed. */
    private void realShape(DType dt, String what, float[][] inputs, int[][] shapes, int[] outShape, BiConsumer<Ops, Tensor[]> op, double flops) {
        CudaOps f32 = RealGpu.ops();
        float[] ref = run(f32, inputs, shapes, outShape, op, null);
        double[] ms = new double[2];
        float[] got;
        try (CudaOps half = f32.withPrecision(dt)) {
            half.useTensorCores(true);
            got = run(half, inputs, shapes, outShape, op, ms);
            half.useTensorCores(false);
            run(half, inputs, shapes, outShape, op, ms);
        }
        double e = Emu.relError(got, ref), tol = tolerance(dt);
        System.out.printf(Locale.ROOT, "%s %s %s: tensor cores %.3f ms (%.1f TFLOP/s), CUDA cores %.3f ms (%.1f TFLOP/s), error vs fp32 %.2e (tolerance %.2e)%n",
                tag(), dt, what, ms[0], flops / ms[0] / 1e9, ms[1], flops / ms[1] / 1e9, e, tol);
        assertTrue(e <= tol, dt + " " + what + ": relative error " + e + " against the fp32 kernel, above " + tol);
    }

    /** Runs op on ops; when timing is given, times REPS more runs: the mean ms goes to timing[0] with tensor cores on, else timing[1]. */
    private static float[] run(CudaOps ops, float[][] inputs, int[][] shapes, int[] outShape, BiConsumer<Ops, Tensor[]> op, double[] timing) {
        Tensor[] ts = new Tensor[inputs.length + 1];
        try {
            for (int i = 0; i < inputs.length; i++) {
                try (Tensor h = Tensor.of(inputs[i], shapes[i])) {
                    ts[i] = ops.upload(h);
                }
            }
            ts[inputs.length] = ops.allocate(outShape);
            op.accept(ops, ts);
            if (timing != null) {
                KernelProfiler p = ops.profile(true);
                for (int i = 0; i < REPS; i++) op.accept(ops, ts);
                double total = p.entries().stream().mapToDouble(KernelProfiler.Entry::totalMillis).sum();
                ops.profile(false);
                timing[ops.tensorCoresOn() ? 0 : 1] = total / REPS;
            }
            try (Tensor h = ops.download(ts[inputs.length])) {
                return h.toArray();
            }
        } finally {
            for (Tensor t : ts) if (t != null) t.close();
        }
    }
}
