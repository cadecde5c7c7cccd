package dev.tav4j.model.pipeline;

import dev.tav4j.model.sched.DdimScheduler;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.DeviceOutOfMemoryException;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepLoop;
import dev.tav4j.runtime.Tensor;

import java.util.Arrays;
import java.util.concurrent.CancellationException;

/**
 * DDIM inversion and classifier-free-guided DDIM sampling over a UNet3D (eta 0).
 *
 * <p>Each step is one body with no host data in it: the timestep and the step's two DDIM coefficients come from
 * a small F32 tensor the host rewrites before the step (one async copy of a few floats), so on the cuda backend
 * the body is captured once as a CUDA graph and replayed for every later step ({@link StepLoop}; off with
 * {@code graphs = false}). Nothing inside a step reads results back or waits for the device; the loop waits
 * once per step, outside the graph, before reporting progress, so progress and cancellation stay exact.
 */
public final class Ddim {
    private Ddim() {}

    /**
     * Tune-A-Video's ddim_inversion: from clean latents [B·F, h, w, 4] up through the reversed timesteps,
     * conditioned on {@code text} (the empty prompt's embedding, [B, 77, D]), no guidance. Returns new latents
     * after {@code stopAfter} of the steps (all steps when stopAfter ≥ steps).
     */
    public static Tensor invert(UNet3D unet, DdimScheduler sched, Tensor latents, int frames, Tensor text,
                                int stopAfter, Progress progress) {
        return invert(unet, sched, latents, frames, text, stopAfter, progress, StepLoop.graphsByDefault());
    }

    /** {@link #invert} with CUDA graphs per step on or off (off: every step launched op by op, for debugging). */
    public static Tensor invert(UNet3D unet, DdimScheduler sched, Tensor latents, int frames, Tensor text,
                                int stopAfter, Progress progress, boolean graphs) {
        Ops ops = unet.ops();
        int[] ts = sched.timesteps();
        int n = Math.min(stopAfter, ts.length), b = text.dim(0);
        Tensor x = ops.allocate(latents.shape());
        ops.copy(latents, x);
        float[] in = new float[b + 2];  // [t × B, c1, c2]
        try (Tensor inputs = ops.allocateF32(b + 2);
             StepLoop loop = new StepLoop(ops, graphs, () -> {
                 try (Tensor eps = unet.forward(x, frames, inputs.slice(0, b), text)) {
                     DdimScheduler.apply(ops, inputs.slice(b, 2), eps, x);
                 }
             })) {
            for (int i = 0; i < n; i++) {
                check(progress);
                int step = ts[ts.length - 1 - i];
                Arrays.fill(in, 0, b, step);
                System.arraycopy(sched.inversionCoefficients(step), 0, in, b, 2);
                ops.write(in, inputs);
                run(loop, ops, "DDIM inversion", i, n);
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
        return sample(unet, sched, latents, frames, uncond, cond, guidance, progress, StepLoop.graphsByDefault());
    }

    /** {@link #sample} with CUDA graphs per step on or off. */
    public static Tensor sample(UNet3D unet, DdimScheduler sched, Tensor latents, int frames, Tensor uncond,
                                Tensor cond, float guidance, Progress progress, boolean graphs) {
        Ops ops = unet.ops();
        int n = latents.dim(0), b = uncond.dim(0);
        int[] s = latents.shape();
        s[0] = 2 * n;
        int[] ts = sched.timesteps();
        Tensor x = ops.allocate(latents.shape());
        ops.copy(latents, x);
        float[] in = new float[2 * b + 2];  // [t × 2B, c1, c2]
        try (Tensor pair = ops.allocate(s); Tensor text = ops.allocate(2 * b, uncond.dim(1), uncond.dim(2));
             Tensor diff = ops.allocate(latents.shape()); Tensor inputs = ops.allocateF32(2 * b + 2);
             StepLoop loop = new StepLoop(ops, graphs, () -> {
                 ops.copy(x, pair.slice(0, n));
                 ops.copy(x, pair.slice(n, n));
                 try (Tensor eps = unet.forward(pair, frames, inputs.slice(0, 2 * b), text)) {
                     Tensor eu = eps.slice(0, n), ec = eps.slice(n, n);
                     ops.axpby(1f, ec, -1f, eu, diff);
                     ops.axpby(1f, eu, guidance, diff, diff);
                     DdimScheduler.apply(ops, inputs.slice(2 * b, 2), diff, x);
                 }
             })) {
            ops.copy(uncond, text.slice(0, b));
            ops.copy(cond, text.slice(b, b));
            for (int i = 0; i < ts.length; i++) {
                check(progress);
                Arrays.fill(in, 0, 2 * b, ts[i]);
                System.arraycopy(sched.stepCoefficients(ts[i]), 0, in, 2 * b, 2);
                ops.write(in, inputs);
                run(loop, ops, "guided DDIM step", i, ts.length);
                progress.step("edit", i + 1, ts.length);
            }
        } catch (RuntimeException e) {
            x.close();
            throw e;
        }
        return x;
    }

    /** One step, then the one wait of the step (outside any graph); out-of-memory says which step it was. */
    private static void run(StepLoop loop, Ops ops, String what, int i, int n) {
        try {
            loop.run();
            ops.synchronize();
        } catch (DeviceOutOfMemoryException e) {
            throw e.during("in " + what + " " + (i + 1) + " of " + n);
        }
    }

    private static void check(Progress p) {
        if (p.cancelled()) throw new CancellationException("cancelled");
    }
}
