package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Locale;
import java.util.Random;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tensor-core kernels (conv_tc.cu, attention_tc.cu through {@link TensorCoreKernels}) in BF16 and F16 storage
 * against the F32 CPU backend on the same F32 inputs (emulated device here: WMMA as whole-tile fragments, see
 * native/emu/cuda_emu.h; a GPU in {@link TensorCoreKernelsGpuTest}). Shapes are small (the emulation computes
 * every WMMA tile once per lane) but odd: pixels and channels that are not multiples of the 128 x 64 conv tile,
 * K not a multiple of the K step 32, stride 2, bottom/right-only padding, token counts that are not multiples of
 * the 64-query / 64-key tiles, head sizes 8, 16, 40, 80, sparse-causal frame 0 and later frames, 77 cross keys.
 * Each case also checks, through the kernel profiler, which kernel ran (tensor cores, or the fallback for shapes
 * not covered). Metric max |got − cpu| / max |cpu|. Tolerance 6u (u = 2^-8 bf16, 2^-11 f16), as for every
 * reduction in {@link CudaPrecisionVsCpuOpsTest}: inputs rounded to the storage type (u each), products exact
 * and summed in fp32 (tensor-core accumulation), the attention probabilities rounded to the storage type before
 * P·V (u, the weights renormalised by the sum of the rounded values), the output rounded once (u).
 */
public class TensorCoreKernelsTest {
    private static final Ops CPU = new CpuOps();

    /** The backend under test: the emulated device here. */
    CudaOps target(DType precision) {
        return Emu.ops().withPrecision(precision);
    }

    String tag() {
        return "[emu-measure]";
    }

    static double tolerance(DType t) {
        return 6 * (t == DType.BF16 ? 0x1p-8 : 0x1p-11);
    }

    private final Random r = new Random(5);

    /** Runs op on the CPU and on target(dt) (tensor cores on) and checks the error and which kernel ran. */
    double compare(DType dt, String what, String kernel, float[][] inputs, int[][] shapes, int[] outShape, BiConsumer<Ops, Tensor[]> op) {
        float[][] results = new float[2][];
        CudaOps cuda = target(dt);
        cuda.useTensorCores(true);
        Ops[] backends = {CPU, cuda};
        for (int b = 0; b < 2; b++) {
            Ops ops = backends[b];
            Tensor[] ts = new Tensor[inputs.length + 1];
            for (int i = 0; i < inputs.length; i++) {
                try (Tensor h = Tensor.of(inputs[i], shapes[i])) {
                    ts[i] = ops.upload(h);
                }
            }
            ts[inputs.length] = ops.allocate(outShape);
            KernelProfiler p = b == 1 ? cuda.profile(true) : null;
            op.accept(ops, ts);
            if (p != null) {
                var names = p.entries().stream().map(KernelProfiler.Entry::name).toList();
                cuda.profile(false);
                assertEquals(java.util.List.of(kernel), names, what + ": kernels that ran");
            }
            try (Tensor h = ops.download(ts[inputs.length])) {
                results[b] = h.toArray();
            }
            for (Tensor t : ts) t.close();
        }
        double tol = tolerance(dt), e = Emu.relError(results[1], results[0]);
        System.out.printf(Locale.ROOT, "%s %s %s (%s): relative error %.2e (tolerance %.2e)%n", tag(), dt, what, kernel, e, tol);
        assertTrue(e <= tol, dt + " " + what + ": relative error " + e + " above " + tol);
        return e;
    }

    static String suffix(DType dt) {
        return dt == DType.BF16 ? "bf16" : "f16";
    }

    @ParameterizedTest(name = "{0} k{1} s{2} p{3} br={4} {5}x{6}x{7} {8}->{9}")
    @CsvSource({
            // dtype, k, stride, pad, bottom-right only, n, h, w, ci, co
            "BF16, 3, 1, 1, false, 2, 9, 11, 16, 72",   // 198 pixels (2 M tiles), 72 channels (2 N tiles), K = 144
            "F16,  3, 1, 1, false, 2, 9, 11, 16, 72",
            "BF16, 3, 2, 1, false, 1, 13, 10, 40, 24",  // stride 2; K = 360: a partial last K step, chunks across taps
            "F16,  3, 2, 0, true,  2, 9, 8, 8, 16",     // the VAE downsample: pad bottom/right only
            "BF16, 1, 1, 0, false, 3, 5, 7, 24, 8",     // 1x1 (proj_in / shortcut)
            "F16,  1, 2, 0, false, 1, 6, 5, 8, 40",
    })
    void conv2dOnTensorCores(DType dt, int k, int stride, int pad, boolean br, int n, int h, int w, int ci, int co) {
        int extra = br ? 1 : 2 * pad, ho = (h + extra - k) / stride + 1, wo = (w + extra - k) / stride + 1;
        compare(dt, "conv2d k" + k + " s" + stride + " p" + pad + (br ? " br" : "") + " " + ci + "->" + co, "conv2d_tc_" + suffix(dt),
                new float[][] {Emu.random(r, n * h * w * ci, 0), Emu.random(r, k * k * ci * co, 0), Emu.random(r, co, 0)},
                new int[][] {{n, h, w, ci}, {k, k, ci, co}, {co}}, new int[] {n, ho, wo, co},
                (ops, t) -> ops.conv2d(t[0], t[1], t[2], stride, pad, br, t[3]));
    }

    @ParameterizedTest(name = "{0} ci={1} co={2} bias={3} -> {4}")
    @CsvSource({"BF16, 3, 8, true, conv2d_bf16", "F16, 8, 4, true, conv2d_f16", "BF16, 8, 16, false, conv2d_tc_bf16"})
    void conv2dFallbackAndNoBias(DType dt, int ci, int co, boolean bias, String kernel) {
        int n = 1, h = 5, w = 6;
        float[][] in = bias ? new float[][] {Emu.random(r, n * h * w * ci, 0), Emu.random(r, 9 * ci * co, 0), Emu.random(r, co, 0)}
                : new float[][] {Emu.random(r, n * h * w * ci, 0), Emu.random(r, 9 * ci * co, 0)};
        int[][] shapes = bias ? new int[][] {{n, h, w, ci}, {3, 3, ci, co}, {co}} : new int[][] {{n, h, w, ci}, {3, 3, ci, co}};
        compare(dt, "conv2d " + ci + "->" + co + (bias ? "" : " no bias"), kernel, in, shapes, new int[] {n, h, w, co},
                (ops, t) -> ops.conv2d(t[0], t[1], bias ? t[2] : null, 1, 1, false, t[t.length - 1]));
    }

    @ParameterizedTest(name = "{0} {1} batch={2} frames={3} L={4} heads={5} D={6}")
    @CsvSource({
            "BF16, SELF,          1, 1, 70, 2, 40",  // 2 query blocks and 2 key tiles, both partial
            "F16,  SELF,          1, 1, 70, 1, 80",
            "BF16, SELF,          2, 1, 19, 2,  8",  // small head: padded to 16
            "F16,  CAUSAL,        1, 1, 70, 2, 16",
            "BF16, SPARSE_CAUSAL, 1, 3, 37, 2, 40",  // frame 0 reads itself twice, frames 1, 2 read frame 0 and f-1
            "F16,  SPARSE_CAUSAL, 2, 2, 33, 1, 16",  // 66 keys: the second tile straddles the frame-0 / frame-(f-1) seam
            "BF16, CROSS,         2, 2, 13, 2, 40",  // 77 keys = 64 + 13
            "F16,  CROSS,         1, 2, 21, 1, 80",
    })
    void attentionOnTensorCores(DType dt, AttentionKind kind, int batch, int frames, int l, int heads, int d) {
        attention(dt, kind, batch, frames, l, heads, d, "attention_tc_d" + pad(d) + "_" + suffix(dt));
    }

    @ParameterizedTest(name = "{0} {1} D={2} -> {3}")
    @CsvSource({"BF16, TEMPORAL, 40, attention_temporal_d40_bf16", "F16, SELF, 12, attention_d16_f16"})
    void attentionFallback(DType dt, AttentionKind kind, int d, String kernel) {
        attention(dt, kind, 1, 3, 9, 2, d, kernel);
    }

    private void attention(DType dt, AttentionKind kind, int batch, int frames, int l, int heads, int d, String kernel) {
        int n = batch * frames, ch = heads * d, lk = kind == AttentionKind.CROSS ? 77 : l, nk = kind == AttentionKind.CROSS ? batch : n;
        float scale = (float) (1 / Math.sqrt(d));
        compare(dt, "attention " + kind + " L=" + l + " D=" + d, kernel,
                new float[][] {Emu.random(r, n * l * ch, 0), Emu.random(r, nk * lk * ch, 0), Emu.random(r, nk * lk * ch, 0.5f)},
                new int[][] {{n, l, ch}, {nk, lk, ch}, {nk, lk, ch}}, new int[] {n, l, ch},
                (ops, t) -> ops.attention(kind, frames, heads, scale, t[0], t[1], t[2], t[3]));
    }

    static int pad(int d) {
        for (int p : TensorCoreKernels.HEAD_PADS) if (p >= d) return p;
        throw new IllegalArgumentException("head size " + d);
    }
}
