package dev.tav4j.model.pretrain;

import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

/**
 * Stable Diffusion's (and Tune-A-Video's) training objective on video latents: noisy = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε at a
 * timestep t per video, the UNet3D predicts ε from the noisy latents, t and the text, and
 *
 * <pre>loss = Σ (ε̂ − ε)² / N</pre>
 *
 * over the N latent values of the batch. Inputs: {@link #LATENTS} x₀ [B·F, h, w, 4] (VAE latents times the scaling
 * factor), {@link #NOISE} ε of the same shape, {@link #TEXT} [B, 77, D], and the scalars {@link #COEFFICIENTS}
 * (√ᾱ_t, √(1−ᾱ_t) per video) and {@link #TIMESTEPS} (t per video): add_noise runs on the device with coefficients
 * read from memory, so one captured step serves every timestep.
 */
public final class DiffusionObjective implements Trainer.Objective {
    public static final String LATENTS = "latents", NOISE = "noise", TEXT = "text", COEFFICIENTS = "coefficients", TIMESTEPS = "timesteps";

    private final UNet3D unet;
    private final int frames;

    public DiffusionObjective(UNet3D unet, int frames) {
        this.unet = unet;
        this.frames = frames;
    }

    @Override public Trainer.Loss loss(Fn f, Trainer.Inputs in) {
        Ops ops = f.ops();
        Tensor x0 = in.get(LATENTS), eps = in.get(NOISE), text = in.get(TEXT), ab = in.get(COEFFICIENTS), t = in.get(TIMESTEPS);
        int b = x0.dim(0) / frames;
        eps.requireShape(NOISE, x0.shape());
        ab.requireShape(COEFFICIENTS, 2 * b);
        Tensor noisy = f.empty(x0.shape());
        for (int i = 0; i < b; i++)
            ops.axpby(ab.slice(2 * i, 2), x0.slice(i * frames, frames), eps.slice(i * frames, frames), noisy.slice(i * frames, frames));
        Tensor pred = unet.forward(f, noisy, frames, t, text);
        Tensor diff = f.axpby(1f, pred, -1f, eps);
        return new Trainer.Loss(f.scale(1f / x0.size(), f.sum(f.mul(diff, diff))));
    }
}
