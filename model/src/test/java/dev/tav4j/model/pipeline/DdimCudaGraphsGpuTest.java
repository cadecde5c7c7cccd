package dev.tav4j.model.pipeline;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.model.GpuBackend;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.sched.DdimScheduler;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DDIM inversion and guided editing on a real GPU with every step after the first replayed from a captured CUDA
 * graph, against the same loops launched op by op and against the cpu backend. Expected: identical to the
 * uncaptured loops (same kernels, arguments and order; cuBLAS is asked for the same GEMMs), asserted within 1e-6
 * relative in case cuBLAS picks another algorithm inside a capture; within 1e-4 of the cpu backend (docs/semantics.md).
 */
@Tag("gpu")
class DdimCudaGraphsGpuTest {
    private static final int FRAMES = 3, LATENT = 8, STEPS = 6;

    private static Ops cuda() {
        return GpuBackend.create();
    }

    private static float[][] run(Ops ops, boolean graphs) {
        Gaussian g = new Gaussian(11);
        try (UNet3D unet = new UNet3D(ops, EmuModels.smallUnet(16), new RandomWeights("unet", 3));
             Tensor l = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor e = g.tensor(1, 77, 16); Tensor c = g.tensor(1, 77, 16);
             Tensor lat = ops.upload(l); Tensor empty = ops.upload(e); Tensor cond = ops.upload(c)) {
            DdimScheduler s = new DdimScheduler(SchedulerConfig.defaults(), STEPS);
            long t0 = System.nanoTime();
            try (Tensor inv = Ddim.invert(unet, s, lat, FRAMES, empty, STEPS, Progress.NONE, graphs);
                 Tensor ed = Ddim.sample(unet, s, inv, FRAMES, empty, cond, 7.5f, Progress.NONE, graphs);
                 Tensor hi = ops.download(inv); Tensor he = ops.download(ed)) {
                System.out.printf(Locale.ROOT, "%s graphs %s: %d + %d steps in %.1f ms%n", ops.name(), graphs, STEPS, STEPS,
                        (System.nanoTime() - t0) / 1e6);
                return new float[][] {hi.toArray(), he.toArray()};
            }
        }
    }

    @Test
    void capturedLoopsMatchUncapturedAndTheCpu() {
        Ops gpu = cuda();
        float[][] graphed = run(gpu, true), eager = run(gpu, false), cpu = run(new CpuOps(), false);
        for (int k = 0; k < 2; k++) {
            String what = k == 0 ? "inverted" : "edited";
            double vsEager = relErr(graphed[k], eager[k]), vsCpu = relErr(graphed[k], cpu[k]);
            System.out.printf(Locale.ROOT, "%s: graphs vs uncaptured %.1e (%s), vs cpu %.1e%n", what, vsEager,
                    java.util.Arrays.equals(graphed[k], eager[k]) ? "bit-identical" : "not bit-identical", vsCpu);
            assertTrue(vsEager <= 1e-6, what + " graphs vs uncaptured: " + vsEager);
            assertTrue(vsCpu <= 1e-4, what + " vs cpu: " + vsCpu);
        }
    }

    private static double relErr(float[] got, float[] ref) {
        double err = 0, scale = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Float.isFinite(got[i])) return Double.POSITIVE_INFINITY;
            err = Math.max(err, Math.abs(got[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return err / Math.max(scale, 1e-30);
    }
}
