package dev.tav4j.model.tune;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.model.Emulation;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Mixed-precision tuning on the CUDA backend over the host emulation: the small random UNet3D of
 * {@link EmulatedCudaTuneStepTest} (every layer and attention kind, 3 frames, 4×4 latents), bf16 or fp16 activations
 * and frozen weights, fp32 master weights, gradients and AdamW, against the fp32 CPU backend on the same inputs.
 *
 * <p>Tolerances (u = 2^-8 bf16, 2^-11 f16): loss and gradient norm within 10u relative (the forward of this UNet in
 * half storage measured ≤ 8u against fp32 in UNetHalfPrecisionEmuTest, and the backward runs the same kernels' half
 * variants); tuned parameters after two steps: AdamW moves each parameter by lr·|m̂/√v̂| per step whatever the
 * gradient's size (step 1: exactly lr·sign(g); step 2: |m̂/√v̂| ≤ 1.0014 by Cauchy–Schwarz), so two runs whose
 * gradients differ by a few u differ by at most 2·lr per step where a near-zero gradient flips sign: every parameter
 * must lie within 4·lr of the CPU's after two steps. Step 2's |m̂/√v̂| depends on g1/g2, and an element's gradient
 * carries an absolute error of about the half type's error relative to the largest gradient, so elements with small
 * gradients move differently: all but 2 % (fp16) or 5 % (bf16, 8× the roundoff) must lie within lr/10 (the masters
 * start from the exact fp32 weights, so the difference is the updates' alone). Measured: fp16 max 2.0·lr (one sign
 * flip), 99.8 % within lr/10; bf16 max 2.6·lr, 97.6 % within lr/10.
 */
class MixedPrecisionTuneTest {
    private static final int FRAMES = 3, LATENT = 4, STEPS = 2;
    private static final int[] TIMESTEPS = {817, 94, 500, 250};
    private static CudaOps emu;
    private static Run cpu;

    private record Run(float[] loss, double[] norm, Map<String, float[]> after) {}

    @BeforeAll
    static void backends() {
        Emulation.require();
        emu = Emulation.cuda();
    }

    @AfterAll
    static void close() {
        if (emu != null) emu.close();
    }

    private static UNet3D unet(Ops ops) {
        return new UNet3D(ops, EmulatedCudaTuneStepTest.smallUnet(), new RandomWeights("unet", 3), TrainableModules.matcher(TrainableModules.DEFAULT));
    }

    /** Latents, text and per-step noise, the same for every backend. */
    private static final class Inputs implements AutoCloseable {
        final Tensor x, text;
        final List<Tensor> noise = new ArrayList<>();

        Inputs(Ops ops, int steps) {
            Gaussian g = new Gaussian(5);
            try (Tensor lat = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor txt = g.tensor(1, 77, 16)) {
                x = ops.upload(lat);
                text = ops.upload(txt);
            }
            for (int s = 0; s < steps; s++) {
                try (Tensor n = g.tensor(FRAMES, LATENT, LATENT, 4)) {
                    noise.add(ops.upload(n));
                }
            }
        }

        Tuner.StepResult step(Tuner t, int s) {
            return t.step(x, noise.get(s), FRAMES, new int[] {TIMESTEPS[s]}, text);
        }

        @Override public void close() {
            x.close();
            text.close();
            noise.forEach(Tensor::close);
        }
    }

    private static Run run(Ops ops) {
        try (UNet3D unet = unet(ops); Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()), TuneSettings.defaults());
             Inputs in = new Inputs(ops, STEPS)) {
            float[] loss = new float[STEPS];
            double[] norm = new double[STEPS];
            for (int s = 0; s < STEPS; s++) {
                Tuner.StepResult r = in.step(tuner, s);
                Assertions.assertFalse(r.skipped(), "step " + s + " skipped: grad norm " + r.gradNorm());
                loss[s] = r.loss();
                norm[s] = r.gradNorm();
            }
            if (ops.precision() != DType.F32) checkMastersAndWorkingCopies(ops, tuner);
            Map<String, float[]> after = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : tuner.trainedParametersTorchLayout().entrySet()) {
                try (Tensor t = e.getValue()) {
                    after.put(e.getKey(), t.toArray());
                }
            }
            return new Run(loss, norm, after);
        }
    }

    /** Masters are F32 and hold more than the half type; each working copy is exactly its master's rounding. */
    private static void checkMastersAndWorkingCopies(Ops ops, Tuner tuner) {
        Assertions.assertTrue(tuner.mixedPrecision(), "mixed precision on a " + ops.precision() + " backend");
        boolean finer = false;
        for (String name : tuner.trainable().keySet()) {
            Tensor master = tuner.master(name), working = tuner.trainable().get(name).value();
            Assertions.assertEquals(DType.F32, master.dtype(), name + ": master");
            Assertions.assertEquals(ops.precision(), working.dtype(), name + ": working copy");
            Assertions.assertEquals(DType.F32, tuner.rawGrad(name).dtype(), name + ": gradient");
            Assertions.assertEquals(DType.F32, tuner.moments(name)[0].dtype(), name + ": AdamW m");
            try (Tensor m = ops.download(master); Tensor w = ops.download(working)) {
                for (long i = 0; i < m.size(); i++) {
                    float rounded = round(m.get(i), ops.precision());
                    if (rounded != m.get(i)) finer = true;
                    if (rounded != w.get(i))
                        Assertions.fail(name + "[" + i + "]: working copy " + w.get(i) + " is not the rounding " + rounded + " of its master " + m.get(i));
                }
            }
        }
        Assertions.assertTrue(finer, "the masters hold values the half type cannot: they are really fp32");
    }

    /** Round-to-nearest-even to the half type, as the device's conversion does. */
    static float round(float v, DType t) {
        if (t == DType.F16) return Float.float16ToFloat(Float.floatToFloat16(v));
        int b = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return v;
        b += 0x7fff + ((b >>> 16) & 1);
        return Float.intBitsToFloat(b & 0xffff0000);
    }

    private static synchronized Run cpuRun() {
        if (cpu == null) cpu = run(new CpuOps());
        return cpu;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void twoStepsMatchTheFp32CpuRun(DType precision) {
        Run ref = cpuRun();
        long t0 = System.nanoTime();
        Run got = run(emu.withPrecision(precision));
        double u = precision == DType.BF16 ? 0x1p-8 : 0x1p-11, tol = 10 * u, lr = TuneSettings.defaults().learningRate();
        System.out.printf(Locale.ROOT, "[emu-measure] %s two tuning steps: %.1f s%n", precision, (System.nanoTime() - t0) / 1e9);
        for (int s = 0; s < STEPS; s++) {
            scalar(precision + " loss[" + s + "]", got.loss[s], ref.loss[s], tol);
            scalar(precision + " grad_norm[" + s + "]", got.norm[s], ref.norm[s], tol);
        }
        Assertions.assertEquals(ref.after.keySet(), got.after.keySet(), "trainable parameters");
        long close = 0, total = 0;
        double worst = 0;
        for (String name : ref.after.keySet()) {
            float[] a = got.after.get(name), b = ref.after.get(name);
            for (int i = 0; i < b.length; i++) {
                double d = Math.abs((double) a[i] - b[i]);
                if (!(d <= 4 * lr)) Assertions.fail(precision + " " + name + "[" + i + "]: " + a[i] + " vs cpu " + b[i] + ", beyond 4·lr");
                worst = Math.max(worst, d);
                if (d <= lr / 10) close++;
            }
            total += b.length;
        }
        System.out.printf(Locale.ROOT, "[emu-measure] %s parameters after %d steps: max |diff| %.2e (%.2f lr), %.2f %% within lr/10%n",
                precision, STEPS, worst, worst / lr, 100.0 * close / total);
        double fraction = precision == DType.BF16 ? 0.95 : 0.98;
        Assertions.assertTrue(close >= fraction * total, close + " of " + total + " parameters within lr/10 of the CPU's (want "
                + 100 * fraction + " %)");
    }

    /**
     * LoRA tuning in bf16: the adapters, made after the load, are trainable parameters like loaded ones: fp32 masters
     * (A's PEFT init exact, not its bf16 rounding), bf16 working copies that are their masters' rounding after each
     * step, fp32 gradients and moments; the frozen weights have no master.
     */
    @Test
    void bf16LoraAdaptersGetFp32MastersAndWorkingCopies() {
        Ops ops = emu.withPrecision(DType.BF16);
        try (UNet3D unet = new UNet3D(ops, EmulatedCudaTuneStepTest.smallUnet(), new RandomWeights("unet", 3));
             Inputs in = new Inputs(ops, STEPS)) {
            LoraTuning.attach(unet.params(), 4, TrainableModules.DEFAULT, 5);
            try (Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()), TuneSettings.defaults().withLoraRank(4))) {
                for (int s = 0; s < STEPS; s++) Assertions.assertFalse(in.step(tuner, s).skipped());
                Assertions.assertTrue(tuner.trainable().keySet().stream().allMatch(LoraTuning::isAdapter), tuner.trainable().keySet().toString());
                checkMastersAndWorkingCopies(ops, tuner);
                Assertions.assertNull(unet.params().exactF32("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"),
                        "a frozen weight keeps no fp32 copy");
            }
        }
    }

    /**
     * fp16 with GradScaler's defaults but a growth interval of 1: a finite step grows the scale, a step whose gradient
     * holds an Inf (injected after the backward) is skipped without touching parameters, masters, working copies or
     * AdamW's state and halves the scale, the next finite step grows it again; a huge scale overflows fp16 by itself.
     */
    @Test
    void fp16OverflowSkipsTheStepAndBacksOffTheScale() {
        Ops ops = emu.withPrecision(DType.F16);
        LossScaler scaler = LossScaler.dynamic(LossScaler.INIT_SCALE, 2f, 0.5f, 1);
        try (PoisonedGradients poison = new PoisonedGradients(ops); UNet3D unet = unet(poison.ops);
             Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()), TuneSettings.defaults(), scaler);
             Inputs in = new Inputs(poison.ops, 3)) {
            Tuner.StepResult r = in.step(tuner, 0);
            Assertions.assertFalse(r.skipped());
            Assertions.assertEquals(65536f, r.lossScale());
            Assertions.assertEquals(131072f, scaler.scale(), "grown after 1 finite step");
            Map<String, float[]> before = TunerState.snapshot(ops, tuner);
            poison.next(Float.POSITIVE_INFINITY);
            r = in.step(tuner, 1);
            poison.next(0f);
            Assertions.assertTrue(r.skipped(), "a gradient holding Inf skips the step");
            Assertions.assertFalse(Double.isFinite(r.gradNorm()), "the reported norm is not finite: " + r.gradNorm());
            Assertions.assertEquals(131072f, r.lossScale());
            Assertions.assertEquals(65536f, scaler.scale(), "halved");
            Assertions.assertEquals(2, tuner.steps());
            Assertions.assertEquals(1, tuner.optimizerSteps());
            Assertions.assertEquals(1, tuner.skippedSteps());
            Map<String, float[]> after = TunerState.snapshot(ops, tuner);
            for (String k : before.keySet()) Assertions.assertArrayEquals(before.get(k), after.get(k), k + " changed by a skipped step");
            r = in.step(tuner, 2);
            Assertions.assertFalse(r.skipped());
            Assertions.assertEquals(131072f, scaler.scale(), "grows again after a finite step");
            Assertions.assertEquals(2, tuner.optimizerSteps());
            Assertions.assertEquals(0, tuner.state().growthTracker());
        }
        LossScaler huge = LossScaler.dynamic(0x1p40f, 2f, 0.5f, 2000);
        try (UNet3D unet = unet(ops); Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()), TuneSettings.defaults(), huge);
             Inputs in = new Inputs(ops, 1)) {
            Tuner.StepResult r = in.step(tuner, 0);
            Assertions.assertTrue(r.skipped(), "a loss scale of 2^40 overflows fp16 activation gradients");
            Assertions.assertEquals(0x1p39f, huge.scale());
            Assertions.assertEquals(0, tuner.optimizerSteps());
        }
    }

    private static void scalar(String label, double got, double ref, double tol) {
        double e = Math.abs(got - ref) / Math.max(Math.abs(ref), 1e-30);
        System.out.printf(Locale.ROOT, "[emu-measure] %s  cuda-emu %.7g vs cpu %.7g  rel-err %.1e (tol %.1e)%n", label, got, ref, e, tol);
        Assertions.assertTrue(e <= tol, label + " rel-err " + e + " above " + tol);
    }
}
