package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;

/**
 * Every case of {@link CudaGradVsCpuTest} on a real GPU through the CUDA driver and cuBLAS, with the same
 * tolerances (fp32 kernels). Skipped with the probe's reason where no usable device is found, or failed when
 * {@code -Dtav.gpu.required=true}.
 */
@Tag("gpu")
class CudaGradVsCpuGpuTest extends CudaGradVsCpuTest {
    private static Ops cuda;

    @Override
    Ops target() {
        synchronized (CudaGradVsCpuGpuTest.class) {
            if (cuda == null) {
                CudaBackendProvider p = new CudaBackendProvider();
                BackendProvider.Availability a = p.probe();
                if (!a.available()) {
                    if (Boolean.getBoolean("tav.gpu.required")) throw new AssertionError("GPU required but CUDA is unusable: " + a.reason());
                    Assumptions.abort("no usable CUDA device: " + a.reason());
                }
                cuda = p.create();
            }
            return cuda;
        }
    }
}
