package dev.tav4j.model.golden;

import org.junit.jupiter.api.Tag;

import java.util.Set;

/**
 * The golden "pipeline" case on a real GPU in fp32: real man-skiing frames → VAE posterior samples → three tuning
 * steps (CudaOps + CudaGradOps) → DDIM inversion → guided editing (captured as CUDA graphs from step 2 on) → decoded
 * video, with the CPU tolerances of docs/semantics.md (the kernels store and accumulate in fp32). Needs the golden "train"
 * set of the GPU package ({@code TAV_GPU_GOLDEN=train scripts/gpu/package.sh}). Skipped or failed as
 * {@link GoldenCudaParityTest}.
 */
@Tag("gpu")
class GoldenCudaPipelineTest extends GoldenCudaParityTest {
    @Override
    Set<String> ops() {
        return Set.of("pipeline");
    }
}
