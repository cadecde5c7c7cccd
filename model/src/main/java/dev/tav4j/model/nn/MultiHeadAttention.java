package dev.tav4j.model.nn;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

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
     * residual + to_out(attention(to_q(x), to_k(src), to_v(src))) with src the context (the text) or x itself for
     * the self-attention kinds (context null); residual null for none. x [N, L, dim] → [N, L, dim].
     */
    public Tensor forward(Fn f, Tensor x, Tensor context, int frames, Tensor residual) {
        Tensor src = context == null ? x : context;
        float scale = (float) (1.0 / Math.sqrt(headSize()));
        Tensor att = f.attention(kind, frames, heads, scale, q.forward(f, x), k.forward(f, src), v.forward(f, src));
        return o.forward(f, att, residual);
    }
}
