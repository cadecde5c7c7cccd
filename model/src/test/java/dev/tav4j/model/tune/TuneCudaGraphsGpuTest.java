package dev.tav4j.model.tune;

import dev.tav4j.model.GpuBackend;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Locale;

/**
 * Tuning steps captured in a real CUDA graph (step 1 eager, 2 captured, 3..6 replayed) against the same steps
 * launched op by op, fp32 and bf16: the capture must be accepted (no refusal, no allocation inside the step) and
 * every loss and final master equal; asserted within 1e-6 relative in case cuBLAS picks another GEMM algorithm
 * inside a capture (expected: identical, the same kernels and arguments in the same order).
 */
@Tag("gpu")
class TuneCudaGraphsGpuTest {
    private static final int FRAMES = 3, LATENT = 8, STEPS = 6;

    private static Ops cuda() {
        return GpuBackend.create();
    }

    private static float[][] run(Ops ops, boolean graphs) {
        Gaussian g = new Gaussian(5);
        try (UNet3D unet = new UNet3D(ops, EmulatedCudaTuneStepTest.smallUnet(), new RandomWeights("unet", 3),
                TrainableModules.matcher(TrainableModules.DEFAULT));
             Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()), TuneSettings.defaults()).cudaGraphs(graphs);
             Tensor lat = g.tensor(FRAMES, 4, 4, 4); Tensor txt = g.tensor(1, 77, 16);
             Tensor x = ops.upload(lat); Tensor text = ops.upload(txt)) {
            float[] loss = new float[STEPS];
            long t0 = System.nanoTime();
            for (int s = 0; s < STEPS; s++) {
                try (Tensor n = g.tensor(FRAMES, 4, 4, 4); Tensor e = ops.upload(n)) {
                    loss[s] = tuner.step(x, e, FRAMES, new int[] {(97 * s + 13) % 1000}, text).loss();
                }
            }
            System.out.printf(Locale.ROOT, "%s %s graphs %s: %d tuning steps in %.1f ms, captured %b%n", ops.name(),
                    ops.precision(), graphs, STEPS, (System.nanoTime() - t0) / 1e6, tuner.stepCaptured());
            Assertions.assertNull(tuner.captureFallbackReason(), "capture refused");
            Assertions.assertEquals(graphs, tuner.stepCaptured());
            String first = tuner.trainable().keySet().iterator().next();
            try (Tensor h = ops.download(tuner.master(first))) {
                return new float[][] {loss, h.toArray()};
            }
        }
    }

    private static void same(float[] a, float[] b, String what) {
        for (int i = 0; i < a.length; i++)
            Assertions.assertTrue(Math.abs(a[i] - b[i]) <= 1e-6 * Math.max(1e-3, Math.abs(b[i])), what + "[" + i + "]: " + a[i] + " vs " + b[i]);
    }

    @Test
    void capturedTuningStepsMatchUncaptured() {
        Ops gpu = cuda();
        for (Ops ops : new Ops[] {gpu, ((dev.tav4j.kernels.cuda.CudaOps) gpu).withPrecision(DType.BF16)}) {
            float[][] graphed = run(ops, true), eager = run(ops, false);
            same(graphed[0], eager[0], ops.precision() + " loss");
            same(graphed[1], eager[1], ops.precision() + " master");
        }
    }
}
