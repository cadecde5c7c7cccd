package dev.tav4j.model.pretrain;

import dev.tav4j.model.vae.Vae;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The objective of a KL autoencoder (LDM's AutoencoderKL, SD's VAE) without the perceptual and adversarial terms: the
 * encoder gives the posterior's mean and log-variance, z = mean + exp(logvar / 2)·ε (the reparameterisation), the
 * decoder reconstructs, and
 *
 * <pre>loss = Σ (x̂ − x)² / P  +  β · Σ ½(mean² + exp(logvar) − 1 − logvar) / P</pre>
 *
 * with both sums over the batch and P the number of pixel values (B·H·W·3): the ratio of per-image sums LDM's loss
 * uses (its kl_weight is this β). Inputs: {@link #PIXELS} [B, H, W, 3] in [−1, 1] and {@link #NOISE} ε ~ N(0, 1)
 * [B, H/f, W/f, latent]. Reported: {@code mse} (per pixel value) and {@code kl} (per latent value, in nats).
 * The log-variance is not clamped in training (inference clamps it to [−30, 20] as diffusers does); the KL term keeps
 * it near 0.
 */
public final class VaeObjective implements Trainer.Objective {
    public static final String PIXELS = "pixels", NOISE = "noise";

    private final Vae vae;
    private final float beta;

    public VaeObjective(Vae vae, float beta) {
        if (!(beta >= 0)) throw new IllegalArgumentException("KL weight must be at least 0, got " + beta);
        this.vae = vae;
        this.beta = beta;
    }

    public float beta() { return beta; }

    @Override public Trainer.Loss loss(Fn f, Trainer.Inputs in) {
        Tensor x = in.get(PIXELS), eps = in.get(NOISE);
        int latent = vae.config().latentChannels();
        Tensor[] moments = f.splitChannels(vae.encoder(f, x), latent);
        Tensor mean = moments[0], logvar = moments[1];
        eps.requireShape(NOISE, mean.shape());
        // the fresh product first: an op may write into its first operand when nothing else reads it
        Tensor z = f.add(f.mul(f.activation(Activation.EXP, f.scale(0.5f, logvar)), eps), mean);
        Tensor diff = f.axpby(1f, vae.decoder(f, z), -1f, x);
        Tensor sq = f.sum(f.mul(diff, diff));
        Tensor klSum = f.sum(f.axpby(1f, f.add(f.mul(mean, mean), f.activation(Activation.EXP, logvar)), -1f, logvar));
        float p = x.size(), n = mean.size();
        Tensor one = f.full(1f, 1);
        // Σ KL = ½ klSum − ½ n; the constant keeps the reported loss the true objective (it has no gradient)
        Tensor loss = f.axpby(1f, f.axpby(1f / p, sq, 0.5f * beta / p, klSum), -0.5f * beta * n / p, one);
        Map<String, Tensor> terms = new LinkedHashMap<>();
        terms.put("mse", f.scale(1f / p, sq));
        terms.put("kl", f.axpby(0.5f / n, klSum, -0.5f, one));
        return new Trainer.Loss(loss, terms);
    }
}
