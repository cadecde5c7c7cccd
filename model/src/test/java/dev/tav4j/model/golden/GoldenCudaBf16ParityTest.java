package dev.tav4j.model.golden;

import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Tag;

/**
 * The forward golden cases on the CUDA backend in BF16 storage (weights converted once at upload, activations
 * in bf16, fp32 accumulation, cuBLAS bf16 GEMMs with fp32 compute). Tolerances, max |got − ref| / max |ref|:
 * 4e-2 (about 10 bf16 roundoffs, u = 2^-8 = 3.9e-3) for the forward cases and DDIM's inverted latents: a
 * small UNet3D forward on the emulator already measured 1.8e-2 in bf16, so 2e-2 would leave no margin;
 * 6e-2 for the edited latents, whose 10 guided steps start from the inverted ones and carry their latents in
 * bf16 between steps. Skipped or failed as {@link GoldenCudaParityTest}.
 */
@Tag("gpu")
class GoldenCudaBf16ParityTest extends GoldenCudaParityTest {
    @Override
    Ops backend() {
        return ((CudaOps) super.backend()).withPrecision(DType.BF16);
    }

    @Override
    double forwardTol() {
        return 4e-2;
    }

    @Override
    double editedTol() {
        return 6e-2;
    }
}
