package dev.tav4j.model.unet;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.model.Emulation;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A small UNet3D (two blocks, one with sparse-causal, cross and temporal attention, one plain; the emulator is
 * slow, so it is smaller than the smoke-test model) on the CUDA backend over the emulated device in BF16 and
 * F16 storage, against the F32 CPU backend on the same random weights and inputs. Metric:
 * max |half − cpu| / max |cpu|. Tolerance: 10 roundoffs of the storage type (u = 2^-8 for bf16, 2^-11 for
 * f16) for a forward of ~20 layers whose residual paths keep errors from compounding. Measured on the
 * emulator (2026-11-24): this model 1.0e-2 (BF16) and 1.2e-3 (F16); the smoke-test model's shapes (4 blocks, 3 frames 8×8) gave 1.8e-2 in BF16 and 2.2e-3
 * in F16 for one forward, 6.4e-3 for a 3-step guided DDIM sample with BF16 latents.
 */
class UNetHalfPrecisionEmuTest {
    private static final int FRAMES = 3, LATENT = 8;

    /** Two blocks (cross-attention down/up and plain), one layer each, 32 channels in 8 groups, 4 heads. */
    static UNetConfig small() {
        return new UNetConfig("UNet2DConditionModel", 4, 4, new int[]{32, 32}, 1, 8, 1e-5f, 32, new int[]{4, 4}, false,
                List.of("CrossAttnDownBlock2D", "DownBlock2D"), List.of("UpBlock2D", "CrossAttnUpBlock2D"), true, 0, 1, false, 16, null);
    }
    private static CudaOps emu;

    @BeforeAll
    static void open() {
        Emulation.require();
        emu = Emulation.cuda();
    }

    @AfterAll
    static void close() {
        if (emu != null) emu.close();
    }

    private static float[] forward(Ops ops, UNetConfig cfg) {
        return forward(ops, cfg, FRAMES, LATENT);
    }

    /** The noise prediction of the small UNet on fixed random weights and inputs ({@code frames}, latent² pixels). */
    static float[] forward(Ops ops, UNetConfig cfg, int frames, int latent) {
        Gaussian g = new Gaussian(11);
        try (UNet3D unet = new UNet3D(ops, cfg, new RandomWeights("unet", 5));
             Tensor lat = g.tensor(frames, latent, latent, cfg.inChannels()); Tensor txt = g.tensor(1, 77, cfg.crossAttentionDim());
             Tensor x = ops.upload(lat); Tensor text = ops.upload(txt);
             Tensor eps = unet.forward(x, frames, new float[] {421f}, text); Tensor host = ops.download(eps)) {
            assertEquals(DType.F32, host.dtype());
            return host.toArray();
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16, 0.0390625", "F16, 0.0048828125"})
    void forwardMatchesTheF32Cpu(DType dt, double tol) {
        UNetConfig cfg = small();
        float[] ref = forward(new CpuOps(), cfg);
        float[] got = forward(emu.withPrecision(dt), cfg);
        double e = Emulation.relError(got, ref);
        System.out.printf(Locale.ROOT, "[emu-measure] UNet3D forward %s vs F32 cpu: %.2e (tolerance %.2e)%n", dt, e, tol);
        assertTrue(e <= tol, dt + " UNet3D forward: relative error " + e + " above " + tol);
    }
}
