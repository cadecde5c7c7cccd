package dev.tav4j.model.vae;

import dev.tav4j.model.nn.GroupNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.MultiHeadAttention;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

/** The VAE mid-block AttentionBlock: GroupNorm, single-head self-attention over pixels, residual. */
record VaeAttention(GroupNorm norm, MultiHeadAttention attn) {

    /** Weights under query/key/value/proj_attn (diffusers < 0.14) or to_q/to_k/to_v/to_out.0 (later). */
    static VaeAttention load(ParamStore p, String prefix, int c, int groups) {
        boolean old = p.weights().has(prefix + ".query.weight");
        String q = old ? ".query" : ".to_q", k = old ? ".key" : ".to_k", v = old ? ".value" : ".to_v";
        String o = old ? ".proj_attn" : ".to_out.0";
        return new VaeAttention(GroupNorm.load(p, prefix + ".group_norm", c, groups, VaeResnet.EPS),
                new MultiHeadAttention(Linear.load(p, prefix + q, c, c, true), Linear.load(p, prefix + k, c, c, true),
                        Linear.load(p, prefix + v, c, c, true), Linear.load(p, prefix + o, c, c, true), 1, AttentionKind.SELF));
    }

    /** x + attention(norm(x)) over the pixels of each image, the add fused into the output projection. */
    Tensor forward(Fn f, Tensor x) {
        int n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        Tensor tokens = f.reshape(norm.forward(f, x, 1, false), n, h * w, c);
        return f.reshape(attn.forward(f, tokens, null, 1, f.reshape(x, n, h * w, c)), n, h, w, c);
    }
}
