package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Tag;

/**
 * Every case of {@link CudaLossOpsVsCpuTest} on a real GPU through the CUDA driver, with the same tolerances (the
 * kernels compute in fp32). Skipped with the probe's reason where no usable device is found, or failed when
 * {@code -Dtav.gpu.required=true}.
 */
@Tag("gpu")
class CudaLossOpsVsCpuGpuTest extends CudaLossOpsVsCpuTest {
    @Override
    Ops target() {
        return RealGpu.ops();
    }
}
