package dev.tav4j.model.sched;

import dev.tav4j.model.config.SchedulerConfig;

/** β and ᾱ of the diffusion process, in float32 as diffusers computes them. */
public final class NoiseSchedule {
    private final float[] alphasCumprod;
    private final SchedulerConfig cfg;

    public NoiseSchedule(SchedulerConfig cfg) {
        this.cfg = cfg;
        int n = cfg.numTrainTimesteps();
        float[] betas;
        if (cfg.trainedBetas() != null) {
            betas = cfg.trainedBetas().clone();
        } else if (cfg.betaSchedule().equals("linear")) {
            betas = linspace(cfg.betaStart(), cfg.betaEnd(), n);
        } else { // scaled_linear: linspace of square roots in float32, squared
            betas = linspace(Math.sqrt(cfg.betaStart()), Math.sqrt(cfg.betaEnd()), n);
            for (int i = 0; i < n; i++) betas[i] = betas[i] * betas[i];
        }
        alphasCumprod = new float[n];
        float acc = 1f;
        for (int i = 0; i < n; i++) {
            acc *= 1f - betas[i];
            alphasCumprod[i] = acc;
        }
    }

    /** torch.linspace(start, end, n, dtype=float32) as its CPU kernel computes it: float step, filled from both ends. */
    private static float[] linspace(double startD, double endD, int n) {
        float[] out = new float[n];
        float start = (float) startD, end = (float) endD;
        float step = (end - start) / (n - 1);
        int half = n / 2;
        for (int i = 0; i < n; i++) out[i] = i < half ? start + step * i : end - step * (n - 1 - i);
        return out;
    }

    public SchedulerConfig config() { return cfg; }

    public int trainTimesteps() { return alphasCumprod.length; }

    /** ᾱ_t. */
    public float alphaCumprod(int t) { return alphasCumprod[t]; }

    /** ᾱ used for the step past t = 0: 1 with set_alpha_to_one, else ᾱ_0. */
    public float finalAlphaCumprod() { return cfg.setAlphaToOne() ? 1f : alphasCumprod[0]; }

    /** ᾱ_t, or the final value for t < 0. */
    public float alphaCumprodOrFinal(int t) { return t >= 0 ? alphasCumprod[t] : finalAlphaCumprod(); }
}
