package dev.tav4j.model.golden;

import dev.tav4j.model.GpuBackend;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Tag;

import java.util.Set;

/**
 * The forward golden cases (tokenize, text_encode, vae, unet3d, ddim) on the CUDA backend, with the CPU
 * tolerances of docs/semantics.md: the kernels store and compute in fp32. Skipped with the probe's reason where no
 * usable device is found (failed with {@code -Dtav.gpu.required=true}).
 */
@Tag("gpu")
class GoldenCudaParityTest extends GoldenParityTest {
    @Override
    Ops backend() {
        return GpuBackend.create();
    }

    @Override
    Set<String> ops() {
        return Set.of("tokenize", "text_encode", "vae", "unet3d", "ddim");
    }
}
