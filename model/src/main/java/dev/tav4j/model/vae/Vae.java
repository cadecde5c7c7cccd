package dev.tav4j.model.vae;

import dev.tav4j.model.config.VaeConfig;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.nn.Conv2d;
import dev.tav4j.model.nn.GroupNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers AutoencoderKL. Images are channels-last [N, H, W, 3] in [-1, 1]; latents [N, H/8, W/8, 4] (unscaled:
 * the pipeline multiplies by the scaling factor 0.18215).
 */
public final class Vae implements AutoCloseable {
    private record Stage(List<VaeResnet> resnets, Conv2d resample) {}

    private final Ops ops;
    private final VaeConfig cfg;
    private final ParamStore params;
    // encoder
    private final Conv2d encIn;
    private final List<Stage> down = new ArrayList<>();
    private final VaeResnet encMid1, encMid2;
    private final VaeAttention encAttn;
    private final GroupNorm encNormOut;
    private final Conv2d encOut;
    private final Linear quant;
    // decoder
    private final Linear postQuant;
    private final Conv2d decIn;
    private final VaeResnet decMid1, decMid2;
    private final VaeAttention decAttn;
    private final List<Stage> up = new ArrayList<>();
    private final GroupNorm decNormOut;
    private final Conv2d decOut;

    public Vae(Ops ops, VaeConfig cfg, Weights weights) {
        this(ops, cfg, weights, name -> false);
    }

    /**
     * As above; the parameters {@code trainable} selects are writable copies (and exact fp32 copies on a
     * half-precision backend: the masters of mixed-precision training), as {@link ParamStore} says.
     */
    public Vae(Ops ops, VaeConfig cfg, Weights weights, java.util.function.Predicate<String> trainable) {
        this.ops = ops;
        this.cfg = cfg;
        this.params = new ParamStore(ops, weights, trainable);
        int[] ch = cfg.blockOutChannels();
        int g = cfg.normNumGroups(), lat = cfg.latentChannels(), nb = ch.length;
        encIn = Conv2d.load(params, "encoder.conv_in", cfg.inChannels(), ch[0], 3, 1, 1);
        int prev = ch[0];
        for (int i = 0; i < nb; i++) {
            List<VaeResnet> rs = new ArrayList<>();
            for (int j = 0; j < cfg.layersPerBlock(); j++) {
                rs.add(VaeResnet.load(params, "encoder.down_blocks." + i + ".resnets." + j, j == 0 ? prev : ch[i], ch[i], g));
            }
            Conv2d ds = i == nb - 1 ? null : Conv2d.loadAsymmetricDown(params, "encoder.down_blocks." + i + ".downsamplers.0.conv", ch[i]);
            down.add(new Stage(rs, ds));
            prev = ch[i];
        }
        int top = ch[nb - 1];
        encMid1 = VaeResnet.load(params, "encoder.mid_block.resnets.0", top, top, g);
        encAttn = VaeAttention.load(params, "encoder.mid_block.attentions.0", top, g);
        encMid2 = VaeResnet.load(params, "encoder.mid_block.resnets.1", top, top, g);
        encNormOut = GroupNorm.load(params, "encoder.conv_norm_out", top, g, VaeResnet.EPS);
        encOut = Conv2d.load(params, "encoder.conv_out", top, 2 * lat, 3, 1, 1);
        quant = Linear.loadConv1x1(params, "quant_conv", 2 * lat, 2 * lat);

        postQuant = Linear.loadConv1x1(params, "post_quant_conv", lat, lat);
        decIn = Conv2d.load(params, "decoder.conv_in", lat, top, 3, 1, 1);
        decMid1 = VaeResnet.load(params, "decoder.mid_block.resnets.0", top, top, g);
        decAttn = VaeAttention.load(params, "decoder.mid_block.attentions.0", top, g);
        decMid2 = VaeResnet.load(params, "decoder.mid_block.resnets.1", top, top, g);
        prev = top;
        for (int i = 0; i < nb; i++) {
            int out = ch[nb - 1 - i];
            List<VaeResnet> rs = new ArrayList<>();
            for (int j = 0; j < cfg.layersPerBlock() + 1; j++) {
                rs.add(VaeResnet.load(params, "decoder.up_blocks." + i + ".resnets." + j, j == 0 ? prev : out, out, g));
            }
            Conv2d us = i == nb - 1 ? null : Conv2d.load(params, "decoder.up_blocks." + i + ".upsamplers.0.conv", out, out, 3, 1, 1);
            up.add(new Stage(rs, us));
            prev = out;
        }
        decNormOut = GroupNorm.load(params, "decoder.conv_norm_out", ch[0], g, VaeResnet.EPS);
        decOut = Conv2d.load(params, "decoder.conv_out", ch[0], cfg.outChannels(), 3, 1, 1);
    }

    public VaeConfig config() { return cfg; }

    public Ops ops() { return ops; }

    /** Every parameter by its diffusers name (for training and saving). */
    public ParamStore params() { return params; }

    /** The diagonal Gaussian posterior: mean and log-variance (clamped to [-30, 20]), each [N, h, w, latent]. */
    public record Posterior(Tensor mean, Tensor logvar) implements AutoCloseable {
        @Override public void close() { mean.close(); logvar.close(); }
    }

    /** pixels [N, H, W, 3] in [-1, 1] → posterior. H and W must be multiples of 8 (2^(blocks−1)). */
    public Posterior encode(Tensor pixels) {
        int f8 = 1 << (cfg.blockOutChannels().length - 1);
        if (pixels.dim(1) % f8 != 0 || pixels.dim(2) % f8 != 0)
            throw new IllegalArgumentException("VAE encode: image size " + pixels.dim(1) + "×" + pixels.dim(2) + " is not a multiple of " + f8);
        try (Fn f = Fn.inference(ops)) {
            return Posteriors.split(ops, encoder(f, pixels), cfg.latentChannels());
        }
    }

    /**
     * The encoder on {@code f} (inference, or a training step's tape): the moments [N, h, w, 2·latent], mean and
     * log-variance side by side (not clamped; the result belongs to f).
     */
    public Tensor encoder(Fn f, Tensor pixels) {
        Tensor x = encIn.forward(f, pixels);
        for (Stage s : down) {
            for (VaeResnet r : s.resnets) x = f.then(x, in -> r.forward(f, in));
            if (s.resample != null) x = f.then(x, in -> s.resample.forward(f, in));
        }
        x = f.then(x, in -> encMid1.forward(f, in));
        x = f.then(x, in -> encAttn.forward(f, in));
        x = f.then(x, in -> encMid2.forward(f, in));
        return f.then(x, in -> quant.forward(f, encOut.forward(f, encNormOut.forward(f, in, 1, true))));
    }

    /** latents [N, h, w, latent] (already divided by the scaling factor) → images [N, 8h, 8w, 3]. */
    public Tensor decode(Tensor z) {
        try (Fn f = Fn.inference(ops)) {
            return f.detach(decoder(f, z));
        }
    }

    /** The decoder on {@code f}: latents [N, h, w, latent] → images [N, 8h, 8w, 3] (the result belongs to f). */
    public Tensor decoder(Fn f, Tensor z) {
        Tensor x = f.scoped(() -> decIn.forward(f, postQuant.forward(f, z)));
        x = f.then(x, in -> decMid1.forward(f, in));
        x = f.then(x, in -> decAttn.forward(f, in));
        x = f.then(x, in -> decMid2.forward(f, in));
        for (Stage s : up) {
            for (VaeResnet r : s.resnets) x = f.then(x, in -> r.forward(f, in));
            if (s.resample != null)
                x = f.then(x, in -> s.resample.forward(f, f.upsampleNearest(in, in.dim(1) * 2, in.dim(2) * 2)));
        }
        return f.then(x, in -> decOut.forward(f, decNormOut.forward(f, in, 1, true)));
    }

    @Override public void close() { params.close(); }
}
