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

    /** What the forward computed before the output projection; kept when tuning without recomputation. */
    public record Cache(Tensor q, Tensor k, Tensor v, Tensor att) implements AutoCloseable {
        @Override public void close() {
            q.close();
            k.close();
            v.close();
            att.close();
        }
    }

    /** q, k, v and the attention output of x (context: the text, or null for self-attention kinds). */
    public Cache forwardCache(Ops ops, Tensor x, Tensor context, int frames) {
        Tensor src = context == null ? x : context;
        Tensor qq = q.apply(ops, x), kk = k.apply(ops, src), vv = v.apply(ops, src), att = ops.allocate(qq.shape());
        ops.attention(kind, frames, heads, scale(), qq, kk, vv, att);
        return new Cache(qq, kk, vv, att);
    }

    /** The output projection of a cached forward: a new [N, L, dim]. */
    public Tensor output(Ops ops, Cache c) {
        return o.apply(ops, c.att());
    }

    /** out = the output projection of a cached forward + residual, fused (residual may be out: in place). */
    public void output(Ops ops, Cache c, Tensor residual, Tensor out) {
        o.apply(ops, c.att(), residual, out);
    }

    /** Backward with recomputation of q, k, v and the attention output (nothing kept from the forward). */
    public Tensor backward(Grads g, Tensor x, Tensor context, int frames, Tensor dY) {
        try (Cache c = forwardCache(g.ops(), x, context, frames)) {
            return backward(g, x, context, frames, dY, c);
        }
    }

    /**
     * Backward from a cached forward. Returns dX (a new tensor); the context (text) gets no gradient.
     */
    public Tensor backward(Grads g, Tensor x, Tensor context, int frames, Tensor dY, Cache c) {
        Ops ops = g.ops();
        boolean self = context == null;
        boolean kvGrad = self || g.of(k.weight()) != null || g.of(v.weight()) != null;
        try (Tensor dAtt = o.backward(g, c.att(), dY, true); Tensor dQ = ops.allocate(c.q().shape());
             Tensor dK = kvGrad ? ops.allocate(c.k().shape()) : null; Tensor dV = kvGrad ? ops.allocate(c.v().shape()) : null) {
            g.grad().attentionBackward(kind, frames, heads, scale(), c.q(), c.k(), c.v(), dAtt, dQ, dK, dV);
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

    /**
     * x [N, L, dim]; context [Nc, Lc, contextDim] or null for self-attention kinds. Returns a new [N, L, dim].
     */
    public Tensor apply(Ops ops, Tensor x, Tensor context, int frames) {
        try (Cache c = forwardCache(ops, x, context, frames)) {
            return output(ops, c);
        }
    }

    /** out = attention(x) + residual with the add fused into the output projection (residual may be out). */
    public void apply(Ops ops, Tensor x, Tensor context, int frames, Tensor residual, Tensor out) {
        try (Cache c = forwardCache(ops, x, context, frames)) {
            output(ops, c, residual, out);
        }
    }
}
