package dev.tav4j.model.unet;

import dev.tav4j.model.nn.LayerNorm;
import dev.tav4j.model.nn.Grads;
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

    /**
     * Backward with recomputation from the block input x0 (left unchanged): returns dX0, a new tensor, and
     * accumulates the gradients of trainable parameters.
     */
    Tensor backward(Grads g, Tensor x0, Tensor text, int frames, Tensor dOut) {
        Ops ops = g.ops();
        try (Tensor x1 = copy(ops, x0); Tensor x2 = ops.allocate(x0.shape()); Tensor x3 = ops.allocate(x0.shape())) {
            residual(ops, x1, norm1, attn1, null, frames);
            ops.copy(x1, x2);
            residual(ops, x2, norm2, attn2, text, frames);
            ops.copy(x2, x3);
            feedForward(ops, x3);
            Tensor d = copy(ops, dOut);
            residualBackward(g, x3, normTemp, attnTemp, null, frames, d);
            try (Tensor n = norm3.apply(ops, x2); Tensor proj = ffIn.apply(ops, n); Tensor gated = geglu(ops, proj);
                 Tensor dGated = ffOut.backward(g, gated, d, true); Tensor dProj = ops.allocate(proj.shape())) {
                g.grad().gegluBackward(proj, dGated, dProj);
                try (Tensor dN = ffIn.backward(g, n, dProj, true); Tensor dx = norm3.backward(g, x2, dN)) {
                    ops.axpby(1f, d, 1f, dx, d);
                }
            }
            residualBackward(g, x1, norm2, attn2, text, frames, d);
            residualBackward(g, x0, norm1, attn1, null, frames, d);
            return d;
        }
    }

    /** d += dX of x + attn(norm(x)) through the attention branch (d enters as the gradient of the sum). */
    private static void residualBackward(Grads g, Tensor x, LayerNorm norm, MultiHeadAttention attn, Tensor context, int frames, Tensor d) {
        Ops ops = g.ops();
        try (Tensor n = norm.apply(ops, x); Tensor dn = attn.backward(g, n, context, frames, d); Tensor dx = norm.backward(g, x, dn)) {
            ops.axpby(1f, d, 1f, dx, d);
        }
    }

    private static Tensor copy(Ops ops, Tensor x) {
        Tensor c = ops.allocate(x.shape());
        ops.copy(x, c);
        return c;
    }

    private Tensor geglu(Ops ops, Tensor proj) {
        int[] s = proj.shape();
        s[s.length - 1] /= 2;
        Tensor gated = ops.allocate(s);
        ops.geglu(proj, gated);
        return gated;
    }

    private void feedForward(Ops ops, Tensor x) {
        try (Tensor n = norm3.apply(ops, x); Tensor proj = ffIn.apply(ops, n); Tensor gated = geglu(ops, proj);
             Tensor y = ffOut.apply(ops, gated)) {
            ops.axpby(1f, x, 1f, y, x);
        }
    }

    private static void residual(Ops ops, Tensor x, LayerNorm norm, MultiHeadAttention attn, Tensor context, int frames) {
        try (Tensor n = norm.apply(ops, x); Tensor a = attn.apply(ops, n, context, frames)) {
            ops.axpby(1f, x, 1f, a, x);
        }
    }
}
