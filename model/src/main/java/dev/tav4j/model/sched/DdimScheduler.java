package dev.tav4j.model.sched;

import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/**
 * diffusers' DDIMScheduler with eta = 0 (deterministic), plus Tune-A-Video's inversion step
 * ({@code next_step} of tuneavideo/util.py).
 */
public final class DdimScheduler {
    private final NoiseSchedule schedule;
    private final int steps;
    private final int[] timesteps;

    public DdimScheduler(SchedulerConfig cfg, int steps) {
        this.schedule = new NoiseSchedule(cfg);
        int n = cfg.numTrainTimesteps();
        if (steps < 1 || steps > n) throw new IllegalArgumentException("steps: " + steps + " must be in 1.." + n);
        this.steps = steps;
        int ratio = n / steps;
        timesteps = new int[steps];
        for (int i = 0; i < steps; i++) timesteps[i] = (steps - 1 - i) * ratio + cfg.stepsOffset();
    }

    public NoiseSchedule schedule() { return schedule; }

    /** Sampling order: from high noise to low (e.g. 901, 801, …, 1 for 10 steps with offset 1). */
    public int[] timesteps() { return timesteps.clone(); }

    public int stepRatio() { return schedule.trainTimesteps() / steps; }

    private boolean vPrediction() { return "v_prediction".equals(schedule.config().predictionType()); }

    /**
     * One denoising step from t to t − ratio: x ← √ᾱ_prev·x̂0 + √(1−ᾱ_prev)·ε̂, in place on {@code sample}.
     * {@code modelOutput} is ε (or v) at t; it is left unchanged.
     */
    public void step(Ops ops, Tensor modelOutput, int t, Tensor sample) {
        float aT = schedule.alphaCumprod(t);
        float aPrev = schedule.alphaCumprodOrFinal(t - stepRatio());
        move(ops, modelOutput, sample, aT, aPrev);
    }

    /**
     * One inversion step (tuneavideo/util.py next_step): from t − ratio (clamped to 999) up to t, using the
     * model output at t. In place on {@code sample}.
     */
    public void inversionStep(Ops ops, Tensor modelOutput, int t, Tensor sample) {
        int from = Math.min(t - stepRatio(), schedule.trainTimesteps() - 1);
        float aFrom = schedule.alphaCumprodOrFinal(from);
        float aNext = schedule.alphaCumprod(t);
        move(ops, modelOutput, sample, aFrom, aNext);
    }

    /**
     * The shared DDIM update from noise level a to level b: x̂0 = (x − √(1−a)·ε)/√a; x' = √b·x̂0 + √(1−b)·ε,
     * folded into x' = c1·x + c2·ε. For v-prediction ε and x̂0 are first recovered from v.
     */
    private void move(Ops ops, Tensor out, Tensor x, float a, float b) {
        double sa = Math.sqrt(a), sb1 = Math.sqrt(1 - a), sb = Math.sqrt(b), sbb = Math.sqrt(1 - b);
        if (!vPrediction()) {
            double c1 = sb / sa, c2 = sbb - sb * sb1 / sa;
            ops.axpby((float) c1, x, (float) c2, out, x);
        } else {
            // x̂0 = √a·x − √(1−a)·v ; ε = √a·v + √(1−a)·x ; x' = √b·x̂0 + √(1−b)·ε
            double cx = sb * sa + sbb * sb1, cv = -sb * sb1 + sbb * sa;
            ops.axpby((float) cx, x, (float) cv, out, x);
        }
    }
}
