package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.DType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;

/**
 * Every case of {@link CudaPrecisionVsCpuOpsTest} (BF16 and F16 storage, fp32 accumulation) on a real GPU,
 * with the same tolerances; GEMMs go through cuBLAS here. Skipped with the probe's reason where no usable
 * device is found, or failed when {@code -Dtav.gpu.required=true}.
 */
@Tag("gpu")
class CudaPrecisionVsCpuOpsGpuTest extends CudaPrecisionVsCpuOpsTest {
    private static CudaOps cuda;

    @Override
    CudaOps target(DType precision) {
        synchronized (CudaPrecisionVsCpuOpsGpuTest.class) {
            if (cuda == null) {
                CudaBackendProvider p = new CudaBackendProvider();
                BackendProvider.Availability a = p.probe();
                if (!a.available()) {
                    if (Boolean.getBoolean("tav.gpu.required")) throw new AssertionError("GPU required but CUDA is unusable: " + a.reason());
                    Assumptions.abort("no usable CUDA device: " + a.reason());
                }
                cuda = CudaBackendProvider.open(DType.F32);
            }
            return cuda.withPrecision(precision);
        }
    }

    @Override
    String tag() {
        return "[gpu-measure]";
    }
}
