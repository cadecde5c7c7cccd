package dev.tav4j.model.tune;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.model.Emulation;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetVariant;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Two official tuning steps of a small random UNet3D (2 levels, 3 frames, 4×4 latents: every layer kind and
 * every attention kind of the real model) on the CUDA backend over the host emulation against the CPU backend,
 * which the golden train case holds to the official numbers. This is the model-level check of CudaGradOps that
 * fits a CI run: the golden case itself takes far longer than 2 minutes in the emulation (every CUDA thread is
 * a fiber), see GoldenEmulatedTrainTest, and runs on a real GPU in GoldenCudaTrainTest.
 * Tolerances as docs/semantics.md's: loss and grad norm 1e-4 relative, raw gradients of step 1 1e-4 (max error over max
 * value per tensor), parameters after step 2 within 5e-6 absolute on all but 0.1 % of elements.
 */
class EmulatedCudaTuneStepTest {
    private static final int FRAMES = 3, LATENT = 4;

    static UNetConfig smallUnet() {
        return new UNetConfig("UNet3DConditionModel", 4, 4, new int[] {16, 32}, 1, 4, 1e-5f, 16, new int[] {2, 2}, false,
                List.of("CrossAttnDownBlock3D", "DownBlock3D"), List.of("UpBlock3D", "CrossAttnUpBlock3D"),
                true, 0, 1, false, LATENT, null);
    }

    private record Run(float[] loss, double[] norm, Map<String, float[]> grads, Map<String, float[]> after) {}

    private static Run run(Ops ops, List<String> trainable, int loraRank, UNetVariant variant) {
        UNetConfig cfg = smallUnet();
        Gaussian g = new Gaussian(5);
        try (UNet3D unet = new UNet3D(ops, cfg, new RandomWeights("unet", 3), loraRank > 0 ? name -> false : TrainableModules.matcher(trainable), variant);
             Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()), attached(unet, trainable, loraRank));
             Tensor lat = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor txt = g.tensor(1, 77, 16);
             Tensor x = ops.upload(lat); Tensor text = ops.upload(txt)) {
            float[] loss = new float[2];
            double[] norm = new double[2];
            Map<String, float[]> grads = new TreeMap<>();
            int[] ts = {817, 94};
            for (int s = 0; s < 2; s++) {
                try (Tensor n = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor e = ops.upload(n)) {
                    Tuner.StepResult r = tuner.step(x, e, FRAMES, new int[] {ts[s]}, text);
                    loss[s] = r.loss();
                    norm[s] = r.gradNorm();
                }
                if (s == 0) {
                    for (String name : tuner.trainable().keySet()) {
                        try (Tensor h = ops.download(tuner.rawGrad(name))) {
                            grads.put(name, h.toArray());
                        }
                    }
                }
            }
            Map<String, float[]> after = new TreeMap<>();
            for (Map.Entry<String, Tensor> e : tuner.trainedParametersTorchLayout().entrySet()) {
                try (Tensor t = e.getValue()) {
                    after.put(e.getKey(), t.toArray());
                }
            }
            return new Run(loss, norm, grads, after);
        }
    }

    /** The settings of the run; with a LoRA rank, the adapters attached first (as TuneJob does). */
    private static TuneSettings attached(UNet3D unet, List<String> trainable, int loraRank) {
        if (loraRank > 0) LoraTuning.attach(unet.params(), loraRank, trainable, 17);
        return TuneSettings.defaults().withTrainableModules(trainable).withLoraRank(loraRank);
    }

    @Test
    void twoStepsMatchTheCpuBackend() {
        twoSteps(TrainableModules.DEFAULT, 0);
    }

    /**
     * LoRA tuning (rank 4 on the official trainable modules): only the adapters train, their updates through the
     * same tape and AdamW on the device. Step 1's A gradients are zero (B starts at zero), step 2's are not.
     */
    @Test
    void twoLoraStepsMatchTheCpuBackend() {
        twoSteps(TrainableModules.DEFAULT, 4);
    }

    /** Another trainable set on the tape: attn1's projections and one resnet's convolutions (weight and norm-free conv gradients on the device). */
    @Test
    void twoStepsOfConvolutionsAndSelfAttentionMatchTheCpuBackend() {
        twoSteps(TapeGradientCheckTest.SET, 0);
    }

    /**
     * The full-attention ablation (tav eval --world): attn1 is CROSS attention over the video's tokens viewed as
     * [B, F·L, C], its k and v projections trained through that view.
     */
    @Test
    void twoStepsWithFullSpatioTemporalAttentionMatchTheCpuBackend() {
        twoSteps(TapeGradientCheckTest.SET, 0, UNetVariant.DEFAULT.withFrameAttention(UNetVariant.FrameAttention.FULL));
    }

    /**
     * The causal-attention ablation: per frame, slices of the projections (device copies into and out of views at an
     * offset) and a join of the frames' outputs, on the tape.
     */
    @Test
    void twoStepsWithCausalAttentionOverFramesMatchTheCpuBackend() {
        twoSteps(TapeGradientCheckTest.SET, 0, UNetVariant.DEFAULT.withFrameAttention(UNetVariant.FrameAttention.CAUSAL));
    }

    private static void twoSteps(List<String> trainable, int loraRank) {
        twoSteps(trainable, loraRank, UNetVariant.DEFAULT);
    }

    private static void twoSteps(List<String> trainable, int loraRank, UNetVariant variant) {
        Emulation.require();
        long t0 = System.nanoTime();
        Run cpu = run(new CpuOps(), trainable, loraRank, variant);
        long t1 = System.nanoTime();
        Run cuda;
        try (CudaOps ops = Emulation.cuda()) {
            cuda = run(ops, trainable, loraRank, variant);
        }
        System.out.printf(Locale.ROOT, "two tuning steps: cpu %.1f s, cuda-emu %.1f s%n", (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
        for (int s = 0; s < 2; s++) {
            scalar("loss[" + s + "]", cuda.loss[s], cpu.loss[s]);
            scalar("grad_norm[" + s + "]", cuda.norm[s], cpu.norm[s]);
        }
        Assertions.assertEquals(cpu.grads.keySet(), cuda.grads.keySet(), "trainable parameters");
        Assertions.assertFalse(cpu.grads.isEmpty(), "no trainable parameters selected");
        Assertions.assertEquals(loraRank > 0, cpu.grads.keySet().stream().allMatch(LoraTuning::isAdapter), "LoRA trains the adapters only");
        double worst = 0;
        for (String name : cpu.grads.keySet()) {
            double e = relErr(cuda.grads.get(name), cpu.grads.get(name));
            worst = Math.max(worst, e);
            Assertions.assertTrue(e <= 1e-4, "grad of " + name + ": rel-err " + e);
        }
        long off = 0, total = 0;
        double maxAbs = 0;
        for (String name : cpu.after.keySet()) {
            float[] a = cuda.after.get(name), b = cpu.after.get(name);
            for (int i = 0; i < b.length; i++) {
                double d = Math.abs(a[i] - b[i]);
                maxAbs = Math.max(maxAbs, d);
                if (!(d <= 5e-6)) off++;
            }
            total += b.length;
        }
        System.out.printf(Locale.ROOT, "cuda-emu vs cpu: %d gradients worst rel-err %.1e; %d parameters, max |diff| %.1e, %d beyond 5e-6%n",
                cpu.grads.size(), worst, total, maxAbs, off);
        Assertions.assertTrue(off <= total / 1000, off + " of " + total + " parameters differ by more than 5e-6");
    }

    private static void scalar(String label, double got, double ref) {
        double e = Math.abs(got - ref) / Math.max(Math.abs(ref), 1e-30);
        System.out.printf(Locale.ROOT, "%s  cuda-emu %.7g vs cpu %.7g  rel-err %.1e%n", label, got, ref, e);
        Assertions.assertTrue(e <= 1e-4, label + " rel-err " + e);
    }

    private static double relErr(float[] got, float[] ref) {
        double err = 0, scale = 0;
        for (int i = 0; i < ref.length; i++) {
            if (Float.isNaN(got[i])) return Double.POSITIVE_INFINITY;
            err = Math.max(err, Math.abs(got[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return err / Math.max(scale, 1e-30);
    }
}
