package dev.tav4j.model.unet;

import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.nn.Conv2d;
import dev.tav4j.model.nn.GroupNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Tune-A-Video's UNet3DConditionModel (the SD UNet inflated: 2D layers per frame, sparse-causal and temporal
 * attention). Works in channels-last video layout: sample [B·F, h, w, C] with F frames per batch item.
 */
public final class UNet3D implements AutoCloseable {
    private final Ops ops;
    private final UNetConfig cfg;
    private final ParamStore params;
    private final UNetVariant variant;
    final Linear time1, time2;
    final Conv2d convIn;
    final List<UNetBlocks.Down> down = new ArrayList<>();
    final UNetBlocks.Mid mid;
    final List<UNetBlocks.Up> up = new ArrayList<>();
    final GroupNorm normOut;
    final Conv2d convOut;

    /** Loads every weight (2D names plus the temporal layers) from {@code weights}. */
    public UNet3D(Ops ops, UNetConfig cfg, Weights weights) {
        this(ops, cfg, weights, name -> false);
    }

    /**
     * As above; the parameters {@code trainable} selects are loaded as writable copies for a tuning job (the others
     * may stay read-only views of their file on the CPU), and on a half-precision backend also keep their exact fp32
     * values on the device ({@link ParamStore#exactF32}): the master weights of mixed-precision tuning.
     */
    public UNet3D(Ops ops, UNetConfig cfg, Weights weights, java.util.function.Predicate<String> trainable) {
        this(ops, cfg, weights, trainable, UNetVariant.DEFAULT);
    }

    /** As above, with the attention of an ablation ({@link UNetVariant}; DEFAULT is Tune-A-Video's). */
    public UNet3D(Ops ops, UNetConfig cfg, Weights weights, java.util.function.Predicate<String> trainable, UNetVariant variant) {
        this.ops = ops;
        this.variant = java.util.Objects.requireNonNull(variant, "variant");
        this.cfg = cfg;
        this.params = new ParamStore(ops, weights, trainable);
        int[] ch = cfg.blockOutChannels();
        int nb = ch.length, groups = cfg.normNumGroups(), ctx = cfg.crossAttentionDim();
        int tDim = ch[0] * 4;
        float eps = cfg.normEps();
        boolean lin = cfg.useLinearProjection();
        time1 = Linear.load(params, "time_embedding.linear_1", ch[0], tDim, true);
        time2 = Linear.load(params, "time_embedding.linear_2", tDim, tDim, true);
        convIn = Conv2d.load(params, "conv_in", cfg.inChannels(), ch[0], 3, 1, 1);
        int prev = ch[0];
        for (int i = 0; i < nb; i++) {
            String b = "down_blocks." + i;
            List<ResnetBlock3D> rs = new ArrayList<>();
            List<Transformer3D> at = new ArrayList<>();
            for (int j = 0; j < cfg.layersPerBlock(); j++) {
                rs.add(ResnetBlock3D.load(params, b + ".resnets." + j, j == 0 ? prev : ch[i], ch[i], tDim, groups, eps));
                if (cfg.downHasAttention(i))
                    at.add(Transformer3D.load(params, b + ".attentions." + j, ch[i], ctx, cfg.heads()[i], groups, lin, variant));
            }
            Conv2d ds = i == nb - 1 ? null : Conv2d.load(params, b + ".downsamplers.0.conv", ch[i], ch[i], 3, 2, cfg.downsamplePadding());
            down.add(new UNetBlocks.Down(rs, at, ds));
            prev = ch[i];
        }
        int top = ch[nb - 1];
        mid = new UNetBlocks.Mid(
                ResnetBlock3D.load(params, "mid_block.resnets.0", top, top, tDim, groups, eps),
                Transformer3D.load(params, "mid_block.attentions.0", top, ctx, cfg.heads()[nb - 1], groups, lin, variant),
                ResnetBlock3D.load(params, "mid_block.resnets.1", top, top, tDim, groups, eps));
        prev = top;
        for (int i = 0; i < nb; i++) {
            String b = "up_blocks." + i;
            int out = ch[nb - 1 - i], in = ch[Math.max(nb - 2 - i, 0)];
            int heads = cfg.heads()[nb - 1 - i];
            List<ResnetBlock3D> rs = new ArrayList<>();
            List<Transformer3D> at = new ArrayList<>();
            int layers = cfg.layersPerBlock() + 1;
            for (int j = 0; j < layers; j++) {
                int skip = j == layers - 1 ? in : out;
                int rin = j == 0 ? prev : out;
                rs.add(ResnetBlock3D.load(params, b + ".resnets." + j, rin + skip, out, tDim, groups, eps));
                if (cfg.upHasAttention(i))
                    at.add(Transformer3D.load(params, b + ".attentions." + j, out, ctx, heads, groups, lin, variant));
            }
            Conv2d us = i == nb - 1 ? null : Conv2d.load(params, b + ".upsamplers.0.conv", out, out, 3, 1, 1);
            up.add(new UNetBlocks.Up(rs, at, us));
            prev = out;
        }
        normOut = GroupNorm.load(params, "conv_norm_out", ch[0], groups, eps);
        convOut = Conv2d.load(params, "conv_out", ch[0], cfg.outChannels(), 3, 1, 1);
    }

    public UNetConfig config() { return cfg; }

    public Ops ops() { return ops; }

    public ParamStore params() { return params; }

    /** How the transformers attend over the frames (fixed at build). */
    public UNetVariant variant() { return variant; }

    /**
     * One forward pass. sample [B·F, h, w, in] (channels-last), timesteps one per batch item, text
     * [B, tokens, crossAttentionDim]. Returns a new [B·F, h, w, out] tensor (ε or v as the model predicts).
     */
    public Tensor forward(Tensor sample, int frames, float[] timesteps, Tensor text) {
        int b = checkInputs(sample, frames, text);
        if (timesteps.length != b) throw new IllegalArgumentException("timesteps: " + timesteps.length + " for batch " + b);
        try (Fn f = Fn.inference(ops)) {
            return f.detach(run(f, sample, frames, timeEmbedding(f, f.timestepEmbedding(timesteps, c0(), cfg.flipSinToCos(), cfg.freqShift())), text));
        }
    }

    /**
     * The same with the timesteps in an F32 tensor [B] of the backend ({@code Ops.allocateF32}): no host data
     * enters the pass, so it can be recorded once as a step graph and replayed with new timesteps.
     */
    public Tensor forward(Tensor sample, int frames, Tensor timesteps, Tensor text) {
        try (Fn f = Fn.inference(ops)) {
            return f.detach(forward(f, sample, frames, timesteps, text));
        }
    }

    /** The forward on {@code f} (a training step's tape, or inference); the result belongs to f. */
    public Tensor forward(Fn f, Tensor sample, int frames, Tensor timesteps, Tensor text) {
        int b = checkInputs(sample, frames, text);
        timesteps.requireShape("timesteps", b);
        return run(f, sample, frames, timeEmbedding(f, f.timestepEmbedding(timesteps, c0(), cfg.flipSinToCos(), cfg.freqShift())), text);
    }

    private int checkInputs(Tensor sample, int frames, Tensor text) {
        int n = sample.dim(0), b = n / frames;
        if (n % frames != 0) throw new IllegalArgumentException("sample: " + n + " images is not a multiple of " + frames + " frames");
        sample.requireShape("sample", n, sample.dim(1), sample.dim(2), cfg.inChannels());
        text.requireShape("encoder_hidden_states", b, text.dim(1), cfg.crossAttentionDim());
        return b;
    }

    /**
     * The UNet: conv_in, the down blocks (each output kept as a skip), the mid block, the up blocks (each resnet
     * reading the latest skip), norm and conv_out. Each resnet and transformer is a unit of gradient checkpointing.
     */
    private Tensor run(Fn f, Tensor sample, int frames, Tensor temb, Tensor text) {
        Deque<Tensor> skips = new ArrayDeque<>();
        Tensor x = convIn.forward(f, sample);
        skips.push(f.retain(x));
        for (UNetBlocks.Down d : down) {
            for (int j = 0; j < d.resnets().size(); j++) {
                x = resnet(f, d.resnets().get(j), x, temb, frames);
                if (!d.attentions().isEmpty()) x = transformer(f, d.attentions().get(j), x, text, frames);
                skips.push(f.retain(x));
            }
            if (d.downsampler() != null) {
                x = f.then(x, in -> d.downsampler().forward(f, in));
                skips.push(f.retain(x));
            }
        }
        x = resnet(f, mid.first(), x, temb, frames);
        x = transformer(f, mid.attention(), x, text, frames);
        x = resnet(f, mid.second(), x, temb, frames);
        for (UNetBlocks.Up u : up) {
            for (int j = 0; j < u.resnets().size(); j++) {
                x = f.then(x, skips.pop(), f::concatChannels);
                x = resnet(f, u.resnets().get(j), x, temb, frames);
                if (!u.attentions().isEmpty()) x = transformer(f, u.attentions().get(j), x, text, frames);
            }
            if (u.upsampler() != null) {
                Tensor next = skips.peek();  // 2× unless the latent size was not divisible (forced upsample size)
                x = f.then(x, in -> u.upsampler().forward(f, f.upsampleNearest(in, next.dim(1), next.dim(2))));
            }
        }
        return f.then(x, in -> convOut.forward(f, normOut.forward(f, in, frames, true)));
    }

    private static Tensor resnet(Fn f, ResnetBlock3D r, Tensor x, Tensor temb, int frames) {
        return f.checkpoint(x, in -> r.forward(f, in, temb, frames), temb);
    }

    private static Tensor transformer(Fn f, Transformer3D t, Tensor x, Tensor text, int frames) {
        return f.checkpoint(x, in -> t.forward(f, in, text, frames), text);
    }

    private int c0() { return cfg.blockOutChannels()[0]; }

    /** silu(time_embedding(time_proj(t))) [B, 4·C0]: every resnet applies SiLU to it first, so it is done once. */
    private Tensor timeEmbedding(Fn f, Tensor proj) {
        return f.then(proj, p -> f.activation(Activation.SILU, time2.forward(f, f.activation(Activation.SILU, time1.forward(f, p)))));
    }

    @Override public void close() { params.close(); }
}
