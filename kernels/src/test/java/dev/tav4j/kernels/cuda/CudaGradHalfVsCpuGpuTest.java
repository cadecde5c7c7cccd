package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import org.junit.jupiter.api.Tag;

/**
 * Every case of {@link CudaGradHalfVsCpuTest} on a real GPU (the bf16/f16 backward kernels and cuBLAS's half-into-fp32
 * GEMM), with the same tolerances. Skipped with the probe's reason where no usable device is found, or failed when
 * {@code -Dtav.gpu.required=true}.
 */
@Tag("gpu")
class CudaGradHalfVsCpuGpuTest extends CudaGradHalfVsCpuTest {
    @Override
    CudaOps target(DType precision) {
        return RealGpu.ops().withPrecision(precision);
    }

    @Override
    String tag() {
        return "[gpu-measure]";
    }
}
