package dev.tav4j.model.golden;

import org.junit.jupiter.api.Tag;

import java.util.Set;

/**
 * The golden "train" case on a real GPU: forward and backward on the CUDA backend (CudaOps + CudaGradOps, fp32),
 * with the CPU tolerances of docs/semantics.md. Skipped with the probe's reason where no usable device is found (failed
 * with {@code -Dtav.gpu.required=true}).
 */
@Tag("gpu")
class GoldenCudaTrainTest extends GoldenCudaParityTest {
    @Override
    Set<String> ops() {
        return Set.of("train");
    }
}
