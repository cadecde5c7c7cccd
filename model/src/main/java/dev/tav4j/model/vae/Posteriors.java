package dev.tav4j.model.vae;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/** Splits the encoder's moments [N, h, w, 2L] into mean and clamped log-variance. */
final class Posteriors {
    private Posteriors() {}

    static Vae.Posterior split(Ops ops, Tensor moments, int latent) {
        int n = moments.dim(0), h = moments.dim(1), w = moments.dim(2);
        try (Tensor host = ops.download(moments)) {
            Tensor mean = Tensor.host(n, h, w, latent), logvar = Tensor.host(n, h, w, latent);
            long pixels = (long) n * h * w;
            for (long p = 0; p < pixels; p++) {
                for (int c = 0; c < latent; c++) {
                    mean.set(p * latent + c, host.get(p * 2 * latent + c));
                    float lv = host.get(p * 2 * latent + latent + c);
                    logvar.set(p * latent + c, Math.max(-30f, Math.min(20f, lv)));
                }
            }
            try (mean; logvar) {
                return new Vae.Posterior(ops.upload(mean), ops.upload(logvar));
            }
        }
    }
}
