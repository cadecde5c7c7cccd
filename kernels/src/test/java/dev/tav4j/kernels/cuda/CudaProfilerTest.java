package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kernel profiler (calls and time per kernel name while on, nothing while off) and the device-memory peak, on the emulated device. */
class CudaProfilerTest {
    @Test
    void countsLaunchesPerKernelOnlyWhileOn() {
        CudaOps ops = Emu.ops().withPrecision(DType.BF16);
        try (Tensor h = Tensor.of(new float[64 * 64], 64, 64); Tensor a = ops.upload(h); Tensor w = ops.upload(h);
             Tensor out = ops.allocate(64, 64)) {
            ops.axpby(1f, a, 1f, a, out);  // before profiling: not counted
            KernelProfiler p = ops.profile(true);
            ops.axpby(1f, a, 1f, a, out);
            ops.axpby(2f, a, 1f, out, out);
            ops.matmul(a, w, null, out);
            ops.copy(a, out);
            Map<String, KernelProfiler.Entry> byName = p.entries().stream()
                    .collect(Collectors.toMap(KernelProfiler.Entry::name, Function.identity()));
            assertEquals(2, byName.get("axpby_bf16").calls(), byName.toString());
            assertEquals(1, byName.get("cublas_gemm_bf16").calls(), byName.toString());
            assertEquals(1, byName.get("memcpy_d2d").calls(), byName.toString());
            assertEquals(3, byName.size(), byName.toString());
            List<KernelProfiler.Entry> sorted = p.entries();
            for (int i = 1; i < sorted.size(); i++) assertTrue(sorted.get(i - 1).totalMillis() >= sorted.get(i).totalMillis(), "largest first");
            assertTrue(sorted.get(0).totalMillis() > 0, "the GEMM took some time: " + sorted);
            ops.profile(false);
            assertNull(ops.profiler());
            ops.axpby(1f, a, 1f, a, out);
            assertEquals(2, p.entries().stream().filter(e -> e.name().equals("axpby_bf16")).findFirst().orElseThrow().calls(),
                    "a closed profiler counts nothing more");
        }
    }

    /** The backward ops of the backend (its grad()) are timed by the same profiler: kernels and each GEMM by role. */
    @Test
    void timesTheBackwardOpsToo() {
        CudaOps ops = Emu.ops().withPrecision(DType.BF16);
        try (Tensor h = Tensor.of(new float[16 * 16], 16, 16); Tensor x = ops.upload(h); Tensor w = ops.upload(h);
             Tensor dY = ops.upload(h); Tensor dX = ops.allocate(16, 16); Tensor dW = ops.allocate(DType.F32, 16, 16);
             Tensor img = ops.upload(Tensor.of(new float[2 * 4 * 4 * 8], 2, 4, 4, 8));
             Tensor cw = ops.upload(Tensor.of(new float[3 * 3 * 8 * 8], 3, 3, 8, 8)); Tensor dImg = ops.allocate(2, 4, 4, 8)) {
            ops.grad().matmulBackwardInput(dY, w, dX);  // before profiling: not counted
            KernelProfiler p = ops.profile(true);
            try {
                ops.grad().matmulBackwardInput(dY, w, dX);
                ops.grad().matmulBackwardWeight(x, dY, dW, null);
                ops.grad().conv2dBackwardInput(img, cw, 1, 1, false, dImg);
                Map<String, KernelProfiler.Entry> byName = p.entries().stream()
                        .collect(Collectors.toMap(KernelProfiler.Entry::name, Function.identity()));
                assertEquals(1, byName.get("cublas_gemm_bf16 dX").calls(), byName.toString());
                assertEquals(1, byName.get("cublas_gemm_bf16 dW").calls(), byName.toString());
                assertEquals(1, byName.entrySet().stream().filter(e -> e.getKey().startsWith("conv2d_bwd_input"))
                        .mapToLong(e -> e.getValue().calls()).sum(), byName.toString());
                assertEquals(3, byName.size(), byName.toString());
            } finally {
                ops.profile(false);
            }
        }
    }

    @Test
    void peakDeviceBytesFollowsAllocations() {
        CudaOps ops = Emu.ops();
        ops.resetPeakDeviceBytes();
        long before = ops.peakDeviceBytes();
        try (Tensor t = ops.allocate(1000, 1000)) {
            assertTrue(ops.peakDeviceBytes() >= before + 4_000_000, "peak " + ops.peakDeviceBytes() + " after 4 MB more than " + before);
        }
        long held = ops.peakDeviceBytes();
        ops.resetPeakDeviceBytes();
        assertTrue(ops.peakDeviceBytes() <= held - 4_000_000, "reset starts at what is in use now");
    }
}
