package dev.tav4j.model.vae;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.model.Emulation;
import dev.tav4j.model.config.VaeConfig;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tiny VAE (two blocks of 16 and 32 channels: resnets with and without a 1×1 shortcut, the mid attention) encoded
 * and decoded on the emulated cuda backend with the fused residual adds and with the unfused sequence
 * ({@link CudaOps#fuseResiduals} off), F32 storage. Tolerance 1e-5 relative to the largest output: the fused GEMM
 * sums a·w + (bias + residual) instead of (a·w + bias) + residual (one fp32 roundoff per add, ~10 layers deep);
 * the conv epilogue adds in the unfused order.
 */
class VaeResidualFusionEmuTest {
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

    /** The posterior mean of an 8×8 image followed by the decode of a 2×2 latent, as one array. */
    private static float[] run(Ops ops) {
        VaeConfig cfg = new VaeConfig(3, 3, new int[]{16, 32}, 1, 4, 8, 8, 0.18215f);
        Gaussian g = new Gaussian(3);
        try (Vae vae = new Vae(ops, cfg, new RandomWeights("vae", 7)); Tensor px = g.tensor(1, 8, 8, 3); Tensor lat = g.tensor(1, 2, 2, 4); Tensor x = ops.upload(px); Tensor z = ops.upload(lat);
             Vae.Posterior p = vae.encode(x); Tensor img = vae.decode(z); Tensor m = ops.download(p.mean()); Tensor d = ops.download(img)) {
            float[] a = m.toArray(), b = d.toArray(), all = new float[a.length + b.length];
            System.arraycopy(a, 0, all, 0, a.length);
            System.arraycopy(b, 0, all, a.length, b.length);
            return all;
        }
    }

    @Test
    void fusedEncodeDecodeMatchesUnfused() {
        float[] fused, unfused;
        try {
            emu.fuseResiduals(false);
            unfused = run(emu);
        } finally {
            emu.fuseResiduals(true);
        }
        fused = run(emu);
        float[] cpu = run(new CpuOps());
        double e = Emulation.relError(fused, unfused);
        System.out.printf(Locale.ROOT, "[emu-measure] VAE F32 fused vs unfused %.2e; vs cpu: fused %.2e, unfused %.2e%n",
                e, Emulation.relError(fused, cpu), Emulation.relError(unfused, cpu));
        assertTrue(e <= 1e-5, "VAE fused vs unfused residual adds: relative error " + e);
    }
}
