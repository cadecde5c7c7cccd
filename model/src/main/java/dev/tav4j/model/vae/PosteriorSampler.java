package dev.tav4j.model.vae;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/**
 * Draws latents from the VAE posterior as the tuning loop does every step:
 * scale · (mean + exp(logvar / 2) · ε). Latents are small (frames × 4 × h × w), so this runs on the host.
 */
public final class PosteriorSampler implements AutoCloseable {
    private final Ops ops;
    private final Tensor mean, std;
    private final float scale;

    public PosteriorSampler(Ops ops, Vae.Posterior posterior, float scale) {
        this.ops = ops;
        this.scale = scale;
        this.mean = ops.download(posterior.mean());
        this.std = ops.download(posterior.logvar());
        for (long i = 0; i < std.size(); i++) std.set(i, (float) Math.exp(0.5 * std.get(i)));
    }

    /** The posterior mean scaled (the deterministic latents). */
    public Tensor mean() {
        Tensor t = Tensor.host(mean.shape());
        for (long i = 0; i < t.size(); i++) t.set(i, scale * mean.get(i));
        try (t) {
            return ops.upload(t);
        }
    }

    /** A sample with the given standard-normal noise (host tensor of the posterior's shape), on the backend. */
    public Tensor sample(Tensor eps) {
        eps.requireShape("posterior noise", mean.shape());
        Tensor t = Tensor.host(mean.shape());
        for (long i = 0; i < t.size(); i++) t.set(i, scale * (mean.get(i) + std.get(i) * eps.get(i)));
        try (t) {
            return ops.upload(t);
        }
    }

    public int[] shape() { return mean.shape(); }

    @Override public void close() {
        mean.close();
        std.close();
    }
}
