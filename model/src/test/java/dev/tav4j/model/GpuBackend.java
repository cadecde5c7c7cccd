package dev.tav4j.model;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Assumptions;

/** Test support for the gpu-tagged model tests: the real cuda backend, or a skip with the probe's reason. */
public final class GpuBackend {
    private GpuBackend() {}

    /** A new cuda backend; aborts the test where no usable device is found (fails with {@code -Dtav.gpu.required=true}). */
    public static Ops create() {
        BackendProvider cuda = Backends.providers().stream().filter(p -> p.name().equals("cuda")).findFirst()
                .orElseThrow(() -> new AssertionError("no cuda backend on the class path"));
        // the test is the entry point here: the documented switches and library places from this JVM
        BackendSettings settings = BackendSettings.fromSystem(System::getProperty, System::getenv);
        BackendProvider.Availability a = cuda.probe(settings);
        if (!a.available()) {
            if (Boolean.getBoolean("tav.gpu.required")) throw new AssertionError("GPU required but CUDA is unusable: " + a.reason());
            Assumptions.abort("no usable CUDA device: " + a.reason());
        }
        return cuda.create(settings);
    }
}
