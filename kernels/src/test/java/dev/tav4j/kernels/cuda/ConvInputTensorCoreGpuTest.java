package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.device.DeviceApi;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On a real GPU: every emulated case of {@link ConvInputTensorCoreTest}, then the SD 1.5 shapes of the backward pass
 * (16 images, 64/32/16 px, 320/640/1280 channels, the stride-2 downsampler, a 1x1 shortcut), where the tensor-core
 * input gradient in BF16/F16 is compared with the fp32 CUDA-core kernel on the same rounded inputs (tolerance 2u as
 * in the base class) and the tensor-core and CUDA-core kernels of the same storage type are timed (device events,
 * mean of 5 after one warm-up). Prints "[gpu-measure]" lines that scripts/gpu/run.sh gathers.
 */
@Tag("gpu")
class ConvInputTensorCoreGpuTest extends ConvInputTensorCoreTest {
    private static final int REPS = 5;

    @Override
    DeviceApi device() {
        return RealGpu.ops().device();
    }

    @Override
    String tag() {
        return "[gpu-measure]";
    }

    @ParameterizedTest(name = "dX {0} images {1}x{1} k{4} s{5} {2}<-{3}")
    @CsvSource({
            // dtype, images, dX height = width, ci, co, k, stride
            "BF16, 16, 64, 320, 320, 3, 1",    // down/up block 1 at 64x64 latents, batch 2 x 8 frames
            "F16,  16, 64, 320, 320, 3, 1",
            "BF16, 16, 64, 320, 320, 3, 2",    // downsampler: 3/4 of the taps meet no output (wasted MMAs)
            "BF16, 16, 32, 640, 640, 3, 1",
            "BF16, 16, 16, 1280, 1280, 3, 1",
            "BF16, 16, 32, 320, 640, 1, 1",    // resnet shortcut
            "BF16, 16, 64, 640, 320, 3, 1",    // up block conv1 on the concatenated skip input
    })
    void sd15AgainstFp32(DType dt, int images, int hw, int ci, int co, int k, int stride) {
        Conv c = new Conv(images, hw, hw, ci, co, k, stride, k / 2, false);
        Random r = new Random(ci * 31L + co + stride);
        float[] dy = rounded(Emu.random(r, Math.toIntExact(sizeOf(c.dy())), 0), dt);
        float[] w = Emu.random(r, Math.toIntExact(sizeOf(c.wt())), 0);
        float s = (float) (1 / Math.sqrt((double) k * k * co));
        for (int i = 0; i < w.length; i++) w[i] *= s;
        w = rounded(w, dt);
        float[] ref = onDevice(DType.F32, true, c, dy, w, "conv2d_bwd_input_f32");
        double[] ms = new double[2];
        float[] got = timed(dt, c, dy, w, ms);
        double e = Emu.relError(got, ref), tol = 2 * u(dt);
        double flops = 2.0 * sizeOf(c.dx()) * co * k * k;  // the useful work (stride 2: 1/4 of what the kernel multiplies)
        System.out.printf(Locale.ROOT, "%s %s conv2dBackwardInput %s: tensor cores %.3f ms (%.1f TFLOP/s), CUDA cores %.3f ms (%.1f TFLOP/s), error vs fp32 %.2e (tolerance %.2e)%n",
                tag(), dt, c, ms[0], flops / ms[0] / 1e9, ms[1], flops / ms[1] / 1e9, e, tol);
        assertTrue(e <= tol, dt + " " + c + ": relative error " + e + " against the fp32 kernel, above " + tol);
    }

    /** dX with the tensor cores on; ms[0] / ms[1]: mean time with them on / off. Checks the kernel of each mode. */
    private float[] timed(DType dt, Conv c, float[] dy, float[] w, double[] ms) {
        LaunchRecorder rec = new LaunchRecorder(device());
        long e0 = rec.eventCreate(), e1 = rec.eventCreate();
        try (CudaOps ops = new CudaOps(rec, "timed", dt); Tensor hdy = Tensor.of(dy, c.dy()); Tensor hw = Tensor.of(w, c.wt());
             Tensor ddy = ops.upload(hdy); Tensor dw = ops.upload(hw); Tensor dx = ops.allocate(c.dx())) {
            CudaGradOps g = (CudaGradOps) ops.grad();
            float[] out = null;
            for (int mode = 0; mode < 2; mode++) {
                g.useTensorCores(mode == 0);
                rec.take();
                for (int i = 0; i <= REPS; i++) {
                    if (i == 1) rec.eventRecord(e0);  // after the warm-up
                    g.conv2dBackwardInput(ddy, dw, c.stride(), c.pad(), c.br(), dx);
                }
                rec.eventRecord(e1);
                ms[mode] = rec.eventElapsedMillis(e0, e1) / REPS;
                String kernel = (mode == 0 ? "conv2d_bwd_input_tc_" : "conv2d_bwd_input_") + suffix(dt);
                assertEquals(List.of(kernel), rec.take().stream().distinct().toList(), dt + " " + c + ": kernels that ran");
                if (mode == 0) {
                    try (Tensor h = ops.download(dx)) {
                        out = h.toArray();
                    }
                }
            }
            return out;
        } finally {
            rec.eventDestroy(e0);
            rec.eventDestroy(e1);
        }
    }
}
