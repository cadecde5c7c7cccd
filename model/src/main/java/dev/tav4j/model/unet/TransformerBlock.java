package dev.tav4j.model.unet;

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
        try (Tensor n = norm3.apply(ops, x); Tensor proj = ffIn.apply(ops, n)) {
            int[] s = proj.shape();
            s[s.length - 1] /= 2;
            try (Tensor gated = ops.allocate(s)) {
                ops.geglu(proj, gated);
                try (Tensor y = ffOut.apply(ops, gated)) {
                    ops.axpby(1f, x, 1f, y, x);
                }
            }
        }
        residual(ops, x, normTemp, attnTemp, null, frames);
    }

    private static void residual(Ops ops, Tensor x, LayerNorm norm, MultiHeadAttention attn, Tensor context, int frames) {
        try (Tensor n = norm.apply(ops, x); Tensor a = attn.apply(ops, n, context, frames)) {
            ops.axpby(1f, x, 1f, a, x);
        }
    }
}
