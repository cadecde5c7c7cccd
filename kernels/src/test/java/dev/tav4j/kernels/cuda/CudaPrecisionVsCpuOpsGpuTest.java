package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import org.junit.jupiter.api.Tag;

/**
 * Every case of {@link CudaPrecisionVsCpuOpsTest} (BF16 and F16 storage, fp32 accumulation) on a real GPU,
 * with the same tolerances; GEMMs go through cuBLAS here. Skipped with the probe's reason where no usable
 * device is found, or failed when {@code -Dtav.gpu.required=true}.
 */
@Tag("gpu")
class CudaPrecisionVsCpuOpsGpuTest extends CudaPrecisionVsCpuOpsTest {
    @Override
    CudaOps target(DType precision) {
        return RealGpu.ops().withPrecision(precision);
    }
}
