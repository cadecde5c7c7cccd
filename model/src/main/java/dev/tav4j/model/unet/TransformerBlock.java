package dev.tav4j.model.unet;

import dev.tav4j.model.nn.Grads;
import dev.tav4j.model.nn.LayerNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.MultiHeadAttention;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/**
 * Tune-A-Video's BasicTransformerBlock: sparse-causal self-attention, cross-attention to the text, GEGLU
 * feed-forward, then temporal attention over the frames of each spatial position (no positional encoding).
 */
record TransformerBlock(LayerNorm norm1, MultiHeadAttention attn1, LayerNorm norm2, MultiHeadAttention attn2,
                        LayerNorm norm3, Linear ffIn, Linear ffOut, LayerNorm normTemp, MultiHeadAttention attnTemp) {

    static TransformerBlock load(ParamStore p, String prefix, int dim, int contextDim, int heads) {
        return new TransformerBlock(
                LayerNorm.load(p, prefix + ".norm1", dim, 1e-5f),
                MultiHeadAttention.loadDiffusers(p, prefix + ".attn1", dim, dim, heads, AttentionKind.SPARSE_CAUSAL),
                LayerNorm.load(p, prefix + ".norm2", dim, 1e-5f),
                MultiHeadAttention.loadDiffusers(p, prefix + ".attn2", dim, contextDim, heads, AttentionKind.CROSS),
                LayerNorm.load(p, prefix + ".norm3", dim, 1e-5f),
                Linear.load(p, prefix + ".ff.net.0.proj", dim, dim * 8, true),
                Linear.load(p, prefix + ".ff.net.2", dim * 4, dim, true),
                LayerNorm.load(p, prefix + ".norm_temp", dim, 1e-5f),
                MultiHeadAttention.loadDiffusers(p, prefix + ".attn_temp", dim, dim, heads, AttentionKind.TEMPORAL));
    }

    /** Updates x [B·F, L, dim] in place; text [B, 77, contextDim]. */
    void apply(Ops ops, Tensor x, Tensor text, int frames) {
        residual(ops, x, norm1, attn1, null, frames);
        residual(ops, x, norm2, attn2, text, frames);
        feedForward(ops, x);
        residual(ops, x, normTemp, attnTemp, null, frames);
    }

    /** Every intermediate of one forward: the residual stream after each branch and each branch's inside. */
    record Cache(Tensor x1, Tensor x2, Tensor x3, Tensor n1, MultiHeadAttention.Cache a1, Tensor n2,
                 MultiHeadAttention.Cache a2, Tensor n3, Tensor proj, Tensor gated, Tensor nt,
                 MultiHeadAttention.Cache at) implements AutoCloseable {
        @Override public void close() {
            for (AutoCloseable c : new AutoCloseable[]{x1, x2, x3, n1, a1, n2, a2, n3, proj, gated, nt, at}) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    /** The forward from x0 (left unchanged) keeping every intermediate; the output is written to {@code out}. */
    Cache forwardCache(Ops ops, Tensor x0, Tensor text, int frames, Tensor out) {
        Tensor n1 = norm1.apply(ops, x0);
        MultiHeadAttention.Cache a1 = attn1.forwardCache(ops, n1, null, frames);
        Tensor x1 = add(ops, x0, attn1, a1);
        Tensor n2 = norm2.apply(ops, x1);
        MultiHeadAttention.Cache a2 = attn2.forwardCache(ops, n2, text, frames);
        Tensor x2 = add(ops, x1, attn2, a2);
        Tensor n3 = norm3.apply(ops, x2), proj = ffIn.apply(ops, n3), gated = geglu(ops, proj);
        Tensor x3 = ops.allocate(x0.shape());
        ffOut.apply(ops, gated, x2, x3);
        Tensor nt = normTemp.apply(ops, x3);
        MultiHeadAttention.Cache at = attnTemp.forwardCache(ops, nt, null, frames);
        attnTemp.output(ops, at, x3, out);
        return new Cache(x1, x2, x3, n1, a1, n2, a2, n3, proj, gated, nt, at);
    }

    private static Tensor add(Ops ops, Tensor x, MultiHeadAttention attn, MultiHeadAttention.Cache c) {
        Tensor next = ops.allocate(x.shape());
        attn.output(ops, c, x, next);  // x + to_out(attention), fused into the projection
        return next;
    }

    /**
     * Backward from the block input x0 (left unchanged): returns dX0, a new tensor, and accumulates the gradients of
     * trainable parameters. With {@code cache} null the forward is recomputed first (gradient checkpointing).
     */
    Tensor backward(Grads g, Tensor x0, Tensor text, int frames, Tensor dOut, Cache cache) {
        Ops ops = g.ops();
        if (cache == null) {
            try (Tensor out = ops.allocate(x0.shape()); Cache c = forwardCache(ops, x0, text, frames, out)) {
                return backward(g, x0, text, frames, dOut, c);
            }
        }
        Cache c = cache;
        Tensor d = ops.allocate(dOut.shape());
        ops.copy(dOut, d);
        branchBackward(g, c.x3(), c.nt(), normTemp, attnTemp, c.at(), null, frames, d);
        try (Tensor dGated = ffOut.backward(g, c.gated(), d, true); Tensor dProj = ops.allocate(c.proj().shape())) {
            g.grad().gegluBackward(c.proj(), dGated, dProj);
            try (Tensor dN = ffIn.backward(g, c.n3(), dProj, true); Tensor dx = norm3.backward(g, c.x2(), dN)) {
                ops.axpby(1f, d, 1f, dx, d);
            }
        }
        branchBackward(g, c.x1(), c.n2(), norm2, attn2, c.a2(), text, frames, d);
        branchBackward(g, x0, c.n1(), norm1, attn1, c.a1(), null, frames, d);
        return d;
    }

    /** d += dX through the branch attn(norm(x)) (d enters as the gradient of x + branch). */
    private static void branchBackward(Grads g, Tensor x, Tensor n, LayerNorm norm, MultiHeadAttention attn,
                                       MultiHeadAttention.Cache c, Tensor context, int frames, Tensor d) {
        try (Tensor dn = attn.backward(g, n, context, frames, d, c); Tensor dx = norm.backward(g, x, dn)) {
            g.ops().axpby(1f, d, 1f, dx, d);
        }
    }

    private Tensor geglu(Ops ops, Tensor proj) {
        int[] s = proj.shape();
        s[s.length - 1] /= 2;
        Tensor gated = ops.allocate(s);
        ops.geglu(proj, gated);
        return gated;
    }

    private void feedForward(Ops ops, Tensor x) {
        try (Tensor n = norm3.apply(ops, x); Tensor proj = ffIn.apply(ops, n); Tensor gated = geglu(ops, proj)) {
            ffOut.apply(ops, gated, x, x);  // x += ff(x), fused into the output GEMM
        }
    }

    private static void residual(Ops ops, Tensor x, LayerNorm norm, MultiHeadAttention attn, Tensor context, int frames) {
        try (Tensor n = norm.apply(ops, x)) {
            attn.apply(ops, n, context, frames, x, x);  // x += attn(norm(x)), fused into to_out
        }
    }
}
