package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Tag;

/**
 * Every case of {@link CudaGradVsCpuTest} on a real GPU through the CUDA driver and cuBLAS, with the same
 * tolerances (fp32 kernels). Skipped with the probe's reason where no usable device is found, or failed when
 * {@code -Dtav.gpu.required=true}.
 */
@Tag("gpu")
class CudaGradVsCpuGpuTest extends CudaGradVsCpuTest {
    @Override
    Ops target() {
        return RealGpu.ops();
    }
}
