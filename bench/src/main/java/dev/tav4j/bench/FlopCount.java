package dev.tav4j.bench;

import dev.tav4j.model.config.UNetConfig;

/**
 * FLOP (2 per multiply-add) of the UNet3D work the benches time: convolutions, projections and attention products
 * (norms, activations and element-wise work are left out; they are a few per cent of memory traffic, not FLOP).
 *
 * <p>A tuning step counts model FLOP, as MFU figures do: one forward plus the backward the method needs, not the
 * recomputation that gradient checkpointing adds. The backward is (a) the input gradient of every convolution and
 * projection — a product the size of its forward — except the text's key/value projections of cross-attention
 * (the text needs no gradient), (b) the attention products' backward: dV, dP, dQ, dK for self-type attention (twice
 * the forward's QKᵀ and PV), dP and dQ for cross-attention (once), and (c) the weight gradients of the trainable
 * projections only (attn1.to_q, attn2.to_q and attn_temp's four: six dim×dim products per transformer block).
 * The temporal attention's F×F products are negligible and not counted.
 */
public final class FlopCount {
    private FlopCount() {}

    /** The parts of one forward, split by what their backward costs. */
    record Parts(double dense, double textKv, double selfAttention, double crossAttention, double trainableWeights) {
        double forward() { return dense + textKv + selfAttention + crossAttention; }

        double tuneStep() { return forward() + dense + 2 * selfAttention + crossAttention + trainableWeights; }

        Parts plus(Parts o) {
            return new Parts(dense + o.dense, textKv + o.textKv, selfAttention + o.selfAttention,
                    crossAttention + o.crossAttention, trainableWeights + o.trainableWeights);
        }
    }

    /** FLOP of one forward over n images (batch × frames) of latent×latent. */
    public static double unetForward(UNetConfig cfg, int n, int latent) {
        return parts(cfg, n, latent).forward();
    }

    /** FLOP of one inversion step (batch 1: the UNet on {@code frames} images; the DDIM update is element-wise). */
    public static double inversionStep(UNetConfig cfg, int frames, int latent) {
        return unetForward(cfg, frames, latent);
    }

    /** FLOP of one guided editing step (batch 2: unconditional and conditional). */
    public static double editingStep(UNetConfig cfg, int frames, int latent) {
        return unetForward(cfg, 2 * frames, latent);
    }

    /** Model FLOP of one tuning step (batch 1): forward + backward as the class comment counts it. */
    public static double tuningStep(UNetConfig cfg, int frames, int latent) {
        return parts(cfg, frames, latent).tuneStep();
    }

    static Parts parts(UNetConfig cfg, int n, int latent) {
        int[] ch = cfg.blockOutChannels();
        int nb = ch.length, ctx = cfg.crossAttentionDim();
        int s = latent;
        Parts f = dense(conv(n, s, cfg.inChannels(), ch[0], 9));
        int prev = ch[0];
        for (int i = 0; i < nb; i++) {
            for (int j = 0; j < cfg.layersPerBlock(); j++) {
                f = f.plus(resnet(n, s, j == 0 ? prev : ch[i], ch[i]));
                if (cfg.downHasAttention(i)) f = f.plus(transformer(n, s, ch[i], ctx));
            }
            if (i < nb - 1) { f = f.plus(dense(conv(n, s / 2, ch[i], ch[i], 9))); s /= 2; }
            prev = ch[i];
        }
        f = f.plus(resnet(n, s, ch[nb - 1], ch[nb - 1])).plus(resnet(n, s, ch[nb - 1], ch[nb - 1]))
                .plus(transformer(n, s, ch[nb - 1], ctx));
        prev = ch[nb - 1];
        for (int i = 0; i < nb; i++) {
            int out = ch[nb - 1 - i], in = ch[Math.max(nb - 2 - i, 0)];
            for (int j = 0; j < cfg.layersPerBlock() + 1; j++) {
                int skip = j == cfg.layersPerBlock() ? in : out;
                f = f.plus(resnet(n, s, (j == 0 ? prev : out) + skip, out));
                if (cfg.upHasAttention(i)) f = f.plus(transformer(n, s, out, ctx));
            }
            if (i < nb - 1) { s *= 2; f = f.plus(dense(conv(n, s, out, out, 9))); }
            prev = out;
        }
        return f.plus(dense(conv(n, s, ch[0], cfg.outChannels(), 9)));
    }

    private static Parts dense(double flop) {
        return new Parts(flop, 0, 0, 0, 0);
    }

    private static double conv(int n, int s, int ci, int co, int taps) {
        return 2.0 * n * s * s * ci * co * taps;
    }

    private static Parts resnet(int n, int s, int in, int out) {
        return dense(conv(n, s, in, out, 9) + conv(n, s, out, out, 9) + (in != out ? conv(n, s, in, out, 1) : 0));
    }

    private static Parts transformer(int n, int s, int c, int ctx) {
        double l = (double) s * s;
        double cc = 2.0 * n * l * c * c;                     // one dim×dim projection over every token
        double proj = 2 * cc;                                // proj_in, proj_out
        double selfQkvo = 4 * cc;
        double crossQo = 2 * cc;
        double ff = 2.0 * n * l * c * 8 * c + 2.0 * n * l * 4 * c * c;
        double temporal = 4 * cc;
        double textKv = 2 * 2.0 * n * 77 * ctx * c;          // the text once per frame, as the official code repeats it
        double sparse = 2 * 2.0 * n * l * (2 * l) * c;       // QKᵀ and PV over 2L keys (frame 0 and the previous frame)
        double cross = 2 * 2.0 * n * l * 77 * c;
        return new Parts(proj + selfQkvo + crossQo + ff + temporal, textKv, sparse, cross, 6 * cc);
    }
}
