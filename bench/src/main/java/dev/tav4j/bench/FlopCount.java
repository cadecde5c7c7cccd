package dev.tav4j.bench;

import dev.tav4j.model.config.UNetConfig;

/** Multiply-add count (×2 = FLOP) of a UNet3D forward: convolutions, projections and attention products. */
public final class FlopCount {
    private FlopCount() {}

    /** FLOP of one forward over n images (batch × frames) of latent×latent. */
    public static double unetForward(UNetConfig cfg, int n, int latent) {
        int[] ch = cfg.blockOutChannels();
        int nb = ch.length;
        double f = 0;
        int s = latent;
        f += conv(n, s, cfg.inChannels(), ch[0], 9);
        int prev = ch[0];
        int[] sizes = new int[nb];
        for (int i = 0; i < nb; i++) {
            sizes[i] = s;
            for (int j = 0; j < cfg.layersPerBlock(); j++) {
                f += resnet(n, s, j == 0 ? prev : ch[i], ch[i]);
                if (cfg.downHasAttention(i)) f += transformer(n, s, ch[i], cfg.crossAttentionDim());
            }
            if (i < nb - 1) { f += conv(n, s / 2, ch[i], ch[i], 9); s /= 2; }
            prev = ch[i];
        }
        f += 2 * resnet(n, s, ch[nb - 1], ch[nb - 1]) + transformer(n, s, ch[nb - 1], cfg.crossAttentionDim());
        prev = ch[nb - 1];
        for (int i = 0; i < nb; i++) {
            int out = ch[nb - 1 - i], in = ch[Math.max(nb - 2 - i, 0)];
            for (int j = 0; j < cfg.layersPerBlock() + 1; j++) {
                int skip = j == cfg.layersPerBlock() ? in : out;
                f += resnet(n, s, (j == 0 ? prev : out) + skip, out);
                if (cfg.upHasAttention(i)) f += transformer(n, s, out, cfg.crossAttentionDim());
            }
            if (i < nb - 1) { s *= 2; f += conv(n, s, out, out, 9); }
            prev = out;
        }
        f += conv(n, s, ch[0], cfg.outChannels(), 9);
        return f;
    }

    private static double conv(int n, int s, int ci, int co, int taps) {
        return 2.0 * n * s * s * ci * co * taps;
    }

    private static double resnet(int n, int s, int in, int out) {
        return conv(n, s, in, out, 9) + conv(n, s, out, out, 9) + (in != out ? conv(n, s, in, out, 1) : 0);
    }

    private static double transformer(int n, int s, int c, int ctx) {
        double l = (double) s * s;
        double proj = 2 * conv(n, s, c, c, 1);
        double selfQkvo = 4 * 2.0 * n * l * c * c;
        double sparse = 2 * 2.0 * n * l * (2 * l) * c; // QKᵀ and PV over 2L keys
        double cross = 2 * 2.0 * n * l * c * c + 2 * 2.0 * n * 77 * ctx * c + 2 * 2.0 * n * l * 77 * c;
        double ff = 2.0 * n * l * c * 8 * c + 2.0 * n * l * 4 * c * c;
        double temporal = 4 * 2.0 * n * l * c * c; // the F×F products are negligible
        return proj + selfQkvo + sparse + cross + ff + temporal;
    }
}
