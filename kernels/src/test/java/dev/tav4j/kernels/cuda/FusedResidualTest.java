package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused residual adds, {@code matmul(a, w, bias, residual, out)} and {@code conv2d(..., residual, out)}, against
 * the unfused sequence the model used before (op, then {@code axpby(1, residual, 1, y, y)}) on odd shapes (tails in
 * every tile). Exactness: the CPU backend and the cuda conv epilogue add in the unfused order, so F32 is bit-identical;
 * the cuda matmul preloads bias + residual and lets the GEMM add a·w (beta = 1), so F32 differs by the rounding of
 * that order: tolerance 1e-6 relative to the largest output (a few fp32 ulps; the operands are O(1), K ≤ 40).
 * BF16/F16 (tensor-core conv where channels are multiples of 8, the CUDA-core kernels otherwise) against the F32
 * CPU unfused result with the 6u tolerance of {@link TensorCoreKernelsTest} (u = 2^-8 bf16, 2^-11 f16): inputs and
 * residual rounded once each, fp32 accumulation, one output rounding (the unfused sequence rounds twice).
 */
class FusedResidualTest {
    private static final Ops CPU = new CpuOps();
    private final Random r = new Random(17);

    /** Runs fused and unfused on one backend; returns {fused, unfused} as host arrays. */
    private static float[][] both(Ops ops, float[][] in, int[][] shapes, int[] outShape, Fused op, boolean inPlace) {
        float[][] res = new float[2][];
        for (int f = 0; f < 2; f++) {
            Tensor[] t = new Tensor[in.length];
            for (int i = 0; i < in.length; i++) {
                try (Tensor h = Tensor.of(in[i], shapes[i])) {
                    t[i] = ops.upload(h);
                }
            }
            Tensor residual = t[in.length - 1];
            try (Tensor out = inPlace ? null : ops.allocate(outShape)) {
                Tensor dst = inPlace ? residual : out;
                if (f == 0) op.run(ops, t, residual, dst);
                else {
                    try (Tensor y = ops.allocate(outShape)) {
                        op.run(ops, t, null, y);
                        ops.axpby(1f, residual, 1f, y, dst);
                    }
                }
                try (Tensor h = ops.download(dst)) {
                    res[f] = h.toArray();
                }
            }
            for (Tensor x : t) x.close();
        }
        return res;
    }

    interface Fused {
        void run(Ops ops, Tensor[] t, Tensor residual, Tensor out);
    }

    private static Fused matmul(boolean bias) {
        return (ops, t, res, out) -> ops.matmul(t[0], t[1], bias ? t[2] : null, res, out);
    }

    private static Fused conv(int stride, int pad, boolean br) {
        return (ops, t, res, out) -> ops.conv2d(t[0], t[1], t[2], stride, pad, br, res, out);
    }

    @ParameterizedTest(name = "m={0} k={1} n={2} bias={3} inPlace={4}")
    @CsvSource({"37, 19, 23, true, false", "37, 19, 23, true, true", "5, 40, 9, false, false", "5, 40, 9, false, true"})
    void matmulMatchesUnfused(int m, int k, int n, boolean bias, boolean inPlace) {
        float[][] in = {Emu.random(r, m * k, 0), Emu.random(r, k * n, 0), Emu.random(r, n, 0.3f), Emu.random(r, m * n, 0)};
        int[][] shapes = {{m, k}, {k, n}, {n}, {m, n}};
        float[][] cpu = both(CPU, in, shapes, new int[] {m, n}, matmul(bias), inPlace);
        assertArrayEquals(cpu[1], cpu[0], "cpu: fused matmul is the unfused sequence bit for bit");
        float[][] emu = both(Emu.ops(), in, shapes, new int[] {m, n}, matmul(bias), inPlace);
        Emu.assertClose("emulated cuda F32 fused vs unfused matmul", emu[0], emu[1], 1e-6);
        Emu.assertClose("emulated cuda F32 fused matmul vs cpu", emu[0], cpu[1], 1e-5);
    }

    @ParameterizedTest(name = "N={0} {1}x{2} {3}->{4} k={5} s={6} p={7} br={8}")
    @CsvSource({"2, 7, 5, 5, 70, 3, 1, 1, false", "1, 8, 6, 4, 6, 3, 2, 0, true", "3, 4, 3, 17, 9, 1, 1, 0, false"})
    void convMatchesUnfusedExactlyInF32(int n, int h, int w, int ci, int co, int k, int stride, int pad, boolean br) {
        int extra = br ? 1 : 2 * pad, ho = (h + extra - k) / stride + 1, wo = (w + extra - k) / stride + 1;
        float[][] in = {Emu.random(r, n * h * w * ci, 0), Emu.random(r, k * k * ci * co, 0), Emu.random(r, co, 0.3f),
                Emu.random(r, n * ho * wo * co, 0)};
        int[][] shapes = {{n, h, w, ci}, {k, k, ci, co}, {co}, {n, ho, wo, co}};
        int[] outShape = {n, ho, wo, co};
        float[][] cpu = both(CPU, in, shapes, outShape, conv(stride, pad, br), false);
        assertArrayEquals(cpu[1], cpu[0], "cpu: fused conv is the unfused sequence bit for bit");
        float[][] emu = both(Emu.ops(), in, shapes, outShape, conv(stride, pad, br), false);
        assertArrayEquals(emu[1], emu[0], "emulated cuda F32: the epilogue adds in the unfused order");
        Emu.assertClose("emulated cuda F32 fused conv vs cpu", emu[0], cpu[1], 1e-5);
    }

    @ParameterizedTest(name = "{0} {1}->{2} k={3} s={4} -> {5}")
    @CsvSource({
            "BF16, 16, 72, 3, 1, conv2d_tc_bf16",  // 2 M tiles x 2 N tiles on tensor cores
            "F16,  8,  24, 3, 2, conv2d_tc_f16",
            "BF16, 24, 8,  1, 1, conv2d_tc_bf16",  // 1x1 (shortcut shape)
            "F16,  5,  6,  3, 1, conv2d_f16",      // channels not multiples of 8: CUDA-core kernel
            "BF16, 3,  12, 3, 1, conv2d_bf16",
    })
    void halfPrecisionConvWithResidual(DType dt, int ci, int co, int k, int stride, String kernel) {
        int n = 2, h = 9, w = 11, pad = k / 2, ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
        float[][] in = {Emu.random(r, n * h * w * ci, 0), Emu.random(r, k * k * ci * co, 0), Emu.random(r, co, 0.3f),
                Emu.random(r, n * ho * wo * co, 0)};
        int[][] shapes = {{n, h, w, ci}, {k, k, ci, co}, {co}, {n, ho, wo, co}};
        int[] outShape = {n, ho, wo, co};
        float[] ref = both(CPU, in, shapes, outShape, conv(stride, pad, false), false)[1];
        CudaOps cuda = Emu.ops().withPrecision(dt);
        cuda.useTensorCores(true);
        KernelProfiler p = cuda.profile(true);
        float[] got;
        try {
            got = both(cuda, in, shapes, outShape, conv(stride, pad, false), false)[0];
            List<String> names = p.entries().stream().filter(e -> e.name().startsWith("conv2d")).map(e -> e.name() + " x" + e.calls()).toList();
            assertEquals(List.of(kernel + " x2"), names, "conv kernels that ran (fused, then unfused)");
        } finally {
            cuda.profile(false);
        }
        assertTrue(Emu.relError(got, ref) <= TensorCoreKernelsTest.tolerance(dt), dt + " conv+residual: error " + Emu.relError(got, ref));
    }

    @ParameterizedTest(name = "{0} inPlace={1}")
    @CsvSource({"BF16, false", "F16, true"})
    void halfPrecisionMatmulWithResidual(DType dt, boolean inPlace) {
        int m = 33, k = 24, n = 17;
        float[][] in = {Emu.random(r, m * k, 0), Emu.random(r, k * n, 0), Emu.random(r, n, 0.3f), Emu.random(r, m * n, 0)};
        int[][] shapes = {{m, k}, {k, n}, {n}, {m, n}};
        float[] ref = both(CPU, in, shapes, new int[] {m, n}, matmul(true), inPlace)[1];
        float[] got = both(Emu.ops().withPrecision(dt), in, shapes, new int[] {m, n}, matmul(true), inPlace)[0];
        double e = Emu.relError(got, ref);
        assertTrue(e <= TensorCoreKernelsTest.tolerance(dt), dt + " matmul+residual: error " + e);
    }

    @Test
    void launchCountsOfTheFusedMatmul() {
        CudaOps cuda = Emu.ops();
        try (Tensor a = cuda.allocate(4, 3); Tensor w = cuda.allocate(3, 5); Tensor b = cuda.allocate(5);
             Tensor x = cuda.allocate(4, 5); Tensor out = cuda.allocate(4, 5)) {
            cuda.write(new float[12], a);
            cuda.write(new float[15], w);
            cuda.write(new float[5], b);
            cuda.write(new float[20], x);
            KernelProfiler p = cuda.profile(true);
            try {
                cuda.matmul(a, w, b, x, out);   // one bias+residual pass, one GEMM
                cuda.matmul(a, w, null, x, x);  // in place without bias: the GEMM alone
                assertEquals(List.of("cublas_gemm_f32 x2", "fill_rows_residual_f32 x1"),
                        p.entries().stream().map(e -> e.name() + " x" + e.calls()).sorted().toList());
            } finally {
                cuda.profile(false);
            }
        }
    }

    @Test
    void rejectsOverlapsAndWrongShapesNamingTheArgument() {
        for (Ops ops : new Ops[] {CPU, Emu.ops()}) {
            try (Tensor x = ops.allocate(1, 4, 4, 2); Tensor w = ops.allocate(3, 3, 2, 2); Tensor out = ops.allocate(1, 4, 4, 2);
                 Tensor a = ops.allocate(6, 3); Tensor mw = ops.allocate(3, 4); Tensor big = ops.allocate(7, 4)) {
                var e = assertThrows(IllegalArgumentException.class, () -> ops.conv2d(x, w, null, 1, 1, false, out, out));
                assertTrue(e.getMessage().contains("residual"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> ops.conv2d(x, w, null, 1, 1, false, a, out));
                assertTrue(e.getMessage().contains("residual"), e.getMessage());
                Tensor shifted = big.slice(1, 6), head = big.slice(0, 6);  // overlapping, not equal
                e = assertThrows(IllegalArgumentException.class, () -> ops.matmul(a, mw, null, shifted, head));
                assertTrue(e.getMessage().contains("residual") && e.getMessage().contains("overlaps"), e.getMessage());
            }
        }
    }
}
