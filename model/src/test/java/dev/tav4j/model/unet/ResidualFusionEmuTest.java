package dev.tav4j.model.unet;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.model.Emulation;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The UNet3D forward on the emulated cuda backend with the fused residual adds (conv epilogue, bias+residual
 * preload before the GEMM) against the same backend running the unfused sequence ({@link CudaOps#fuseResiduals}
 * off), on the small model of {@link UNetHalfPrecisionEmuTest} (resnets with and without a 1×1 shortcut, the
 * transformer's four residual branches and proj_out). Both are also measured against the F32 cpu backend.
 * Tolerances: F32 1e-5 — the fused GEMM adds a·w + (bias + residual) instead of (a·w + bias) + residual, a
 * difference of an fp32 roundoff per residual add (6e-8) carried through ~20 layers; BF16 10u (u = 2^-8) between
 * the two, as the half-precision forward tolerance of that test: the fused adds round the
 * output once where the unfused sequence rounds twice.
 */
class ResidualFusionEmuTest {
    private static final int FRAMES = 2, LATENT = 4;  // smaller than UNetHalfPrecisionEmuTest: the emulator is slow
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
        return UNetHalfPrecisionEmuTest.forward(ops, cfg, FRAMES, LATENT);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"F32, 1e-5", "BF16, 0.0390625"})  // F16 runs the same code paths (FusedResidualTest covers its kernels)
    void fusedForwardMatchesUnfused(DType dt, double tol) {
        UNetConfig cfg = UNetHalfPrecisionEmuTest.small();
        CudaOps ops = emu.withPrecision(dt);
        float[] fused, unfused;
        try {
            ops.fuseResiduals(true);
            fused = forward(ops, cfg);
            ops.fuseResiduals(false);
            unfused = forward(ops, cfg);
        } finally {
            ops.fuseResiduals(true);
        }
        float[] cpu = forward(new CpuOps(), cfg);
        double e = Emulation.relError(fused, unfused);
        System.out.printf(Locale.ROOT, "[emu-measure] UNet3D %s fused vs unfused %.2e (tolerance %.2e); vs F32 cpu: fused %.2e, unfused %.2e%n",
                dt, e, tol, Emulation.relError(fused, cpu), Emulation.relError(unfused, cpu));
        assertTrue(e <= tol, dt + " UNet3D fused vs unfused residual adds: relative error " + e + " above " + tol);
    }
}
