package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.DType;
import org.junit.jupiter.api.Assumptions;

/**
 * The one real-GPU backend the gpu-tagged kernel tests share: skipped with the probe's reason where no usable
 * device is found, or failed when {@code -Dtav.gpu.required=true} (so a broken probe cannot pass as skipped).
 */
final class RealGpu {
    private static CudaOps cuda;

    private RealGpu() {}

    static synchronized CudaOps ops() {
        if (cuda == null) {
            // the test is the entry point here: the documented switches and library places from this JVM
            BackendSettings settings = BackendSettings.fromSystem(System::getProperty, System::getenv).withPrecision(DType.F32);
            BackendProvider.Availability a = new CudaBackendProvider().probe(settings);
            if (!a.available()) {
                if (Boolean.getBoolean("tav.gpu.required")) throw new AssertionError("GPU required but CUDA is unusable: " + a.reason());
                Assumptions.abort("no usable CUDA device: " + a.reason());
            }
            cuda = CudaBackendProvider.open(settings);
        }
        return cuda;
    }
}
