package dev.tav4j.model.nn;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/**
 * q/k/v projections, fused attention, output projection: diffusers' CrossAttention (to_q, to_k, to_v,
 * to_out.0), CLIP's self-attention (q_proj … out_proj) and the VAE's AttentionBlock (query … proj_attn).
 */
public record MultiHeadAttention(Linear q, Linear k, Linear v, Linear o, int heads, AttentionKind kind) {

    /** diffusers CrossAttention: q/k/v without bias (attention_bias false), to_out.0 with bias. */
    public static MultiHeadAttention loadDiffusers(ParamStore p, String prefix, int dim, int contextDim, int heads, AttentionKind kind) {
        return new MultiHeadAttention(
                Linear.load(p, prefix + ".to_q", dim, dim, false),
                Linear.load(p, prefix + ".to_k", contextDim, dim, false),
                Linear.load(p, prefix + ".to_v", contextDim, dim, false),
                Linear.load(p, prefix + ".to_out.0", dim, dim, true), heads, kind);
    }

    public int headSize() { return q.out() / heads; }

    /**
     * x [N, L, dim]; context [Nc, Lc, contextDim] or null for self-attention kinds. Returns a new [N, L, dim].
     */
    public Tensor apply(Ops ops, Tensor x, Tensor context, int frames) {
        Tensor src = context == null ? x : context;
        try (Tensor qq = q.apply(ops, x); Tensor kk = k.apply(ops, src); Tensor vv = v.apply(ops, src);
             Tensor att = ops.allocate(qq.shape())) {
            ops.attention(kind, frames, heads, (float) (1.0 / Math.sqrt(headSize())), qq, kk, vv, att);
            return o.apply(ops, att);
        }
    }
}
