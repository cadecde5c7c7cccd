package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.device.DeviceApi;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conv2d input gradient on tensor cores (conv2d_bwd_input_tc_*, conv_tc.cu, chosen by {@link TensorCoreKernels}
 * in {@link CudaGradOps#conv2dBackwardInput}) in BF16 and F16 against CpuGradOps in fp32 on the SAME inputs, rounded
 * to the storage type first (emulated device here, WMMA as whole-tile fragments; a GPU in the gpu subclass). Every
 * launch goes through a {@link LaunchRecorder}, so each case also checks which kernel ran: the tensor-core kernel
 * (it cannot pass through the fallback), the CUDA-core kernel with the switch off, and the fallback for shapes not
 * covered. Shapes are small but off the tiles: input pixels M = N·H·W not a multiple of 128, Ci off the 64-column
 * tile (8, 24, 40, 72), K = kh·kw·Co not a multiple of the K step 32, stride 2 with the SD downsampler's
 * bottom/right-only padding and with symmetric padding, 1x1, batch > 1.
 *
 * <p>Metric max |got − cpu| / max |cpu|. Tolerance 2u (u = 2^-8 bf16, 2^-11 f16): the inputs are the same, the
 * products of two 16-bit values are exact in fp32 and summed in fp32 (tensor-core accumulation; a different order
 * than the CPU's, ≲ 1e-6 relative at K ≤ 648), and dX is rounded once to the storage type (≤ u of its own magnitude,
 * which is ≤ max |cpu|). 2u leaves a margin for the summation; an error in the gather or the B layout is O(1).
 */
public class ConvInputTensorCoreTest {
    private static final Ops CPU = new CpuOps();

    /** The device under test: the emulated one here. */
    DeviceApi device() {
        return Emu.ops().device();
    }

    String tag() {
        return "[emu-measure]";
    }

    static double u(DType t) {
        return t == DType.BF16 ? 0x1p-8 : 0x1p-11;
    }

    static String suffix(DType t) {
        return CudaKernels.suffix(t);
    }

    /** The values as the storage type holds them (round to nearest even, as the upload does). */
    static float[] rounded(float[] v, DType t) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++)
            r[i] = switch (t) {
                case BF16 -> Bf16.toFloat(Bf16.fromFloat(v[i]));
                case F16 -> Float.float16ToFloat(Float.floatToFloat16(v[i]));
                case F32 -> v[i];
            };
        return r;
    }

    /** One conv2dBackwardInput problem: shapes and padding. */
    record Conv(int n, int h, int w, int ci, int co, int k, int stride, int pad, boolean br) {
        int ho() { return (h + (br ? 1 : 2 * pad) - k) / stride + 1; }
        int wo() { return (w + (br ? 1 : 2 * pad) - k) / stride + 1; }
        int[] dy() { return new int[] {n, ho(), wo(), co}; }
        int[] wt() { return new int[] {k, k, ci, co}; }
        int[] dx() { return new int[] {n, h, w, ci}; }
        @Override public String toString() {
            return String.format(Locale.ROOT, "k%d s%d p%d%s %dx%dx%dx%d %d<-%d", k, stride, pad, br ? " br" : "", n, h, w, ci, ci, co);
        }
    }

    /** dX on {@code ops}, with dY and w uploaded from the given values. */
    static float[] run(Ops ops, Conv c, float[] dy, float[] w) {
        try (Tensor hdy = Tensor.of(dy, c.dy()); Tensor hw = Tensor.of(w, c.wt());
             Tensor ddy = ops.upload(hdy); Tensor dw = ops.upload(hw); Tensor dx = ops.allocate(c.dx())) {
            ops.grad().conv2dBackwardInput(ddy, dw, c.stride(), c.pad(), c.br(), dx);
            try (Tensor h = ops.download(dx)) {
                return h.toArray();
            }
        }
    }

    /** dX on the device in {@code dt} with the tensor cores on or off; checks that {@code kernel} (and only it) ran. */
    float[] onDevice(DType dt, boolean tensorCores, Conv c, float[] dy, float[] w, String kernel) {
        LaunchRecorder rec = new LaunchRecorder(device());
        try (CudaOps ops = new CudaOps(rec, "recorded", dt)) {
            ((CudaGradOps) ops.grad()).useTensorCores(tensorCores);
            float[] dx = run(ops, c, dy, w);
            List<String> conv = rec.take().stream().filter(s -> s.startsWith("conv2d")).toList();
            assertEquals(List.of(kernel), conv, dt + " " + c + ": the conv kernels that ran");
            return dx;
        }
    }

    @ParameterizedTest(name = "{0} k{1} s{2} p{3} br={4} {5}x{6}x{7} ci={8} co={9}")
    @CsvSource({
            // dtype, k, stride, pad, bottom-right only, n, h, w, ci, co
            "BF16, 3, 1, 1, false, 2, 9, 11, 16, 72",   // M = 198 (2 M tiles, the second partial), K = 648 (partial last K step)
            "F16,  3, 1, 1, false, 2, 9, 11, 16, 72",
            "BF16, 3, 1, 1, false, 1, 7, 6, 72, 40",    // Ci 72: 2 column tiles, the second 8 wide
            "F16,  3, 1, 1, false, 1, 7, 6, 72, 40",
            "BF16, 3, 2, 0, true,  2, 10, 8, 24, 16",   // SD downsampler: stride 2, padding bottom/right only
            "F16,  3, 2, 0, true,  2, 9, 7, 40, 8",     // the same with odd sizes (the last row/column meets one tap)
            "BF16, 3, 2, 1, false, 1, 13, 10, 8, 24",   // stride 2, symmetric padding
            "BF16, 1, 1, 0, false, 3, 5, 7, 24, 40",    // 1x1 (proj_in / shortcut)
            "F16,  1, 1, 0, false, 3, 5, 7, 40, 8",
    })
    void matchesCpuOnRoundedInputs(DType dt, int k, int stride, int pad, boolean br, int n, int h, int w, int ci, int co) {
        Conv c = new Conv(n, h, w, ci, co, k, stride, pad, br);
        Random r = new Random(31L * ci + co + k);
        float[] dy = rounded(Emu.random(r, Math.toIntExact(sizeOf(c.dy())), 0), dt);
        float[] wt = rounded(Emu.random(r, Math.toIntExact(sizeOf(c.wt())), 0), dt);
        float[] ref = run(CPU, c, dy, wt);
        float[] tc = onDevice(dt, true, c, dy, wt, "conv2d_bwd_input_tc_" + suffix(dt));
        float[] cc = onDevice(dt, false, c, dy, wt, "conv2d_bwd_input_" + suffix(dt));
        double tol = 2 * u(dt), eTc = Emu.relError(tc, ref), eCc = Emu.relError(cc, ref);
        System.out.printf(Locale.ROOT, "%s %s conv2dBackwardInput %s: tensor cores rel-err %.2e, CUDA cores %.2e (tol %.2e)%n",
                tag(), dt, c, eTc, eCc, tol);
        assertTrue(eTc <= tol, dt + " " + c + ": tensor-core relative error " + eTc + " above " + tol);
        assertTrue(eCc <= tol, dt + " " + c + ": CUDA-core relative error " + eCc + " above " + tol);
    }

    @ParameterizedTest(name = "{0} ci={1} co={2} -> {3}")
    @CsvSource({
            "BF16, 12, 8, conv2d_bwd_input_bf16",  // Ci % 8 != 0
            "F16,  8, 4,  conv2d_bwd_input_f16",   // Co % 8 != 0
            "F32,  8, 8,  conv2d_bwd_input_f32",   // fp32 keeps the exact kernel
    })
    void fallsBackWhereNotCovered(DType dt, int ci, int co, String kernel) {
        Conv c = new Conv(1, 5, 6, ci, co, 3, 1, 1, false);
        Random r = new Random(ci + co);
        float[] dy = rounded(Emu.random(r, Math.toIntExact(sizeOf(c.dy())), 0), dt);
        float[] wt = rounded(Emu.random(r, Math.toIntExact(sizeOf(c.wt())), 0), dt);
        double tol = dt == DType.F32 ? 1e-5 : 2 * u(dt);  // fp32: the CPU's and the kernel's summation orders differ
        double e = Emu.relError(onDevice(dt, true, c, dy, wt, kernel), run(CPU, c, dy, wt));
        assertTrue(e <= tol, dt + " " + c + ": relative error " + e + " above " + tol);
    }

    static long sizeOf(int[] shape) {
        long s = 1;
        for (int d : shape) s *= d;
        return s;
    }
}
