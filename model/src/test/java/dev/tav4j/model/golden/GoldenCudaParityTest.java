package dev.tav4j.model.golden;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;

import java.util.Set;

/**
 * The forward golden cases (tokenize, text_encode, vae, unet3d, ddim) on the CUDA backend, with the CPU
 * tolerances of DESIGN.md: the kernels store and compute in fp32. Skipped with the probe's reason where no
 * usable device is found (failed with {@code -Dtav.gpu.required=true}).
 */
@Tag("gpu")
class GoldenCudaParityTest extends GoldenParityTest {
    @Override
    Ops backend() {
        BackendProvider cuda = Backends.providers().stream().filter(p -> p.name().equals("cuda")).findFirst()
                .orElseThrow(() -> new AssertionError("no cuda backend on the class path"));
        BackendProvider.Availability a = cuda.probe();
        if (!a.available()) {
            if (Boolean.getBoolean("tav.gpu.required")) throw new AssertionError("GPU required but CUDA is unusable: " + a.reason());
            Assumptions.abort("no usable CUDA device: " + a.reason());
        }
        return cuda.create();
    }

    @Override
    Set<String> ops() {
        return Set.of("tokenize", "text_encode", "vae", "unet3d", "ddim");
    }
}
