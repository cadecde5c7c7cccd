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

    private float scale() { return (float) (1.0 / Math.sqrt(headSize())); }

    /**
     * Backward with recomputation of q, k, v and the attention output (nothing was kept from the forward).
     * Returns dX (a new tensor); the context (text) gets no gradient.
     */
    public Tensor backward(Grads g, Tensor x, Tensor context, int frames, Tensor dY) {
        Ops ops = g.ops();
        boolean self = context == null;
        Tensor src = self ? x : context;
        try (Tensor qq = q.apply(ops, x); Tensor kk = k.apply(ops, src); Tensor vv = v.apply(ops, src);
             Tensor att = ops.allocate(qq.shape())) {
            ops.attention(kind, frames, heads, scale(), qq, kk, vv, att);
            boolean kvGrad = self || g.of(k.weight()) != null || g.of(v.weight()) != null;
            try (Tensor dAtt = o.backward(g, att, dY, true); Tensor dQ = ops.allocate(qq.shape());
                 Tensor dK = kvGrad ? ops.allocate(kk.shape()) : null; Tensor dV = kvGrad ? ops.allocate(vv.shape()) : null) {
                g.grad().attentionBackward(kind, frames, heads, scale(), qq, kk, vv, dAtt, dQ, dK, dV);
                Tensor dX = q.backward(g, x, dQ, true);
                if (self) {
                    try (Tensor dxk = k.backward(g, x, dK, true); Tensor dxv = v.backward(g, x, dV, true)) {
                        ops.axpby(1f, dX, 1f, dxk, dX);
                        ops.axpby(1f, dX, 1f, dxv, dX);
                    }
                } else if (kvGrad) { // weight gradients only: the text itself needs none
                    k.backward(g, context, dK, false);
                    v.backward(g, context, dV, false);
                }
                return dX;
            }
        }
    }

    /**
     * x [N, L, dim]; context [Nc, Lc, contextDim] or null for self-attention kinds. Returns a new [N, L, dim].
     */
    public Tensor apply(Ops ops, Tensor x, Tensor context, int frames) {
        Tensor src = context == null ? x : context;
        try (Tensor qq = q.apply(ops, x); Tensor kk = k.apply(ops, src); Tensor vv = v.apply(ops, src);
             Tensor att = ops.allocate(qq.shape())) {
            ops.attention(kind, frames, heads, scale(), qq, kk, vv, att);
            return o.apply(ops, att);
        }
    }
}
