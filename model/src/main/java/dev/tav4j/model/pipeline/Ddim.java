package dev.tav4j.model.pipeline;

import dev.tav4j.model.sched.DdimScheduler;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.util.concurrent.CancellationException;

/** DDIM inversion and classifier-free-guided DDIM sampling over a UNet3D (eta 0). */
public final class Ddim {
    private Ddim() {}

    /**
     * Tune-A-Video's ddim_inversion: from clean latents [B·F, h, w, 4] up through the reversed timesteps,
     * conditioned on {@code text} (the empty prompt's embedding, [B, 77, D]), no guidance. Returns new latents
     * after {@code stopAfter} of the steps (all steps when stopAfter ≥ steps).
     */
    public static Tensor invert(UNet3D unet, DdimScheduler sched, Tensor latents, int frames, Tensor text,
                                int stopAfter, Progress progress) {
        Ops ops = unet.ops();
        int[] ts = sched.timesteps();
        int n = Math.min(stopAfter, ts.length);
        Tensor x = ops.allocate(latents.shape());
        ops.copy(latents, x);
        float[] t = new float[text.dim(0)];
        try {
            for (int i = 0; i < n; i++) {
                check(progress);
                int step = ts[ts.length - 1 - i];
                java.util.Arrays.fill(t, step);
                try (Tensor eps = unet.forward(x, frames, t, text)) {
                    sched.inversionStep(ops, eps, step, x);
                }
                progress.step("invert", i + 1, n);
            }
        } catch (RuntimeException e) {
            x.close();
            throw e;
        }
        return x;
    }

    /**
     * TuneAVideoPipeline sampling: for each timestep, the UNet on [uncond; cond] (batch 2B),
     * ε = ε_u + g·(ε_c − ε_u), DDIM step. latents [B·F, h, w, 4]; uncond, cond [B, 77, D]. Returns new latents.
     */
    public static Tensor sample(UNet3D unet, DdimScheduler sched, Tensor latents, int frames, Tensor uncond,
                                Tensor cond, float guidance, Progress progress) {
        Ops ops = unet.ops();
        int n = latents.dim(0), b = uncond.dim(0);
        int[] s = latents.shape();
        s[0] = 2 * n;
        int[] ts = sched.timesteps();
        Tensor x = ops.allocate(latents.shape());
        ops.copy(latents, x);
        try (Tensor pair = ops.allocate(s); Tensor text = ops.allocate(2 * b, uncond.dim(1), uncond.dim(2));
             Tensor diff = ops.allocate(latents.shape())) {
            ops.copy(uncond, text.slice(0, b));
            ops.copy(cond, text.slice(b, b));
            float[] t = new float[2 * b];
            for (int i = 0; i < ts.length; i++) {
                check(progress);
                ops.copy(x, pair.slice(0, n));
                ops.copy(x, pair.slice(n, n));
                java.util.Arrays.fill(t, ts[i]);
                try (Tensor eps = unet.forward(pair, frames, t, text)) {
                    Tensor eu = eps.slice(0, n), ec = eps.slice(n, n);
                    ops.axpby(1f, ec, -1f, eu, diff);
                    ops.axpby(1f, eu, guidance, diff, diff);
                    sched.step(ops, diff, ts[i], x);
                }
                progress.step("edit", i + 1, ts.length);
            }
        } catch (RuntimeException e) {
            x.close();
            throw e;
        }
        return x;
    }

    private static void check(Progress p) {
        if (p.cancelled()) throw new CancellationException("cancelled");
    }
}
