package dev.tav4j.model.unet;

import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.runtime.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Fresh temporal layers for inflating a 2D UNet, as the official code initialises them: attn_temp q/k/v and
 * to_out.0 with PyTorch's default Linear init (uniform ±1/√in), then to_out.0.weight zeroed (so a fresh
 * model's temporal attention adds only its bias); norm_temp ones and zeros.
 */
public final class TemporalInit {
    private TemporalInit() {}

    /** Every temporal weight the UNet3D of {@code cfg} needs, by checkpoint name. */
    public static Map<String, Tensor> fresh(UNetConfig cfg, long seed) {
        Gaussian rng = new Gaussian(seed);
        Map<String, Tensor> out = new LinkedHashMap<>();
        int[] ch = cfg.blockOutChannels();
        int nb = ch.length;
        for (int i = 0; i < nb; i++) {
            if (!cfg.downHasAttention(i)) continue;
            for (int j = 0; j < cfg.layersPerBlock(); j++) add(out, "down_blocks." + i + ".attentions." + j, ch[i], rng);
        }
        add(out, "mid_block.attentions.0", ch[nb - 1], rng);
        for (int i = 0; i < nb; i++) {
            if (!cfg.upHasAttention(i)) continue;
            for (int j = 0; j < cfg.layersPerBlock() + 1; j++) add(out, "up_blocks." + i + ".attentions." + j, ch[nb - 1 - i], rng);
        }
        return out;
    }

    private static void add(Map<String, Tensor> out, String attention, int dim, Gaussian rng) {
        String p = attention + ".transformer_blocks.0.";
        double bound = 1.0 / Math.sqrt(dim);
        for (String m : new String[]{"to_q", "to_k", "to_v"}) out.put(p + "attn_temp." + m + ".weight", uniform(rng, bound, dim, dim));
        uniform(rng, bound, dim, dim).close(); // to_out.0.weight is drawn, then zeroed, as in the official init
        out.put(p + "attn_temp.to_out.0.weight", Tensor.zeros(dim, dim));
        out.put(p + "attn_temp.to_out.0.bias", uniform(rng, bound, dim));
        out.put(p + "norm_temp.weight", Tensor.host(dim).fill(1f));
        out.put(p + "norm_temp.bias", Tensor.zeros(dim));
    }

    private static Tensor uniform(Gaussian rng, double bound, int... shape) {
        Tensor t = Tensor.host(shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) rng.uniform(-bound, bound));
        return t;
    }
}
