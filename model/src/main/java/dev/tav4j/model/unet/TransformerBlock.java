package dev.tav4j.model.unet;

import dev.tav4j.model.nn.LayerNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.MultiHeadAttention;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

/**
 * Tune-A-Video's BasicTransformerBlock: sparse-causal self-attention, cross-attention to the text, GEGLU
 * feed-forward, then temporal attention over the frames of each spatial position (no positional encoding).
 * {@code variant} may instead give full or causal spatio-temporal self-attention, or skip the temporal attention.
 */
record TransformerBlock(LayerNorm norm1, MultiHeadAttention attn1, LayerNorm norm2, MultiHeadAttention attn2,
                        LayerNorm norm3, Linear ffIn, Linear ffOut, LayerNorm normTemp, MultiHeadAttention attnTemp,
                        UNetVariant variant) {

    static TransformerBlock load(ParamStore p, String prefix, int dim, int contextDim, int heads, UNetVariant variant) {
        // full attention is cross-attention to the video's own tokens: one key set [F·L, C] per batch item
        AttentionKind self = variant.frameAttention() == UNetVariant.FrameAttention.FULL ? AttentionKind.CROSS : AttentionKind.SPARSE_CAUSAL;
        return new TransformerBlock(
                LayerNorm.load(p, prefix + ".norm1", dim, 1e-5f),
                MultiHeadAttention.loadDiffusers(p, prefix + ".attn1", dim, dim, heads, self),
                LayerNorm.load(p, prefix + ".norm2", dim, 1e-5f),
                MultiHeadAttention.loadDiffusers(p, prefix + ".attn2", dim, contextDim, heads, AttentionKind.CROSS),
                LayerNorm.load(p, prefix + ".norm3", dim, 1e-5f),
                Linear.load(p, prefix + ".ff.net.0.proj", dim, dim * 8, true),
                Linear.load(p, prefix + ".ff.net.2", dim * 4, dim, true),
                LayerNorm.load(p, prefix + ".norm_temp", dim, 1e-5f),
                MultiHeadAttention.loadDiffusers(p, prefix + ".attn_temp", dim, dim, heads, AttentionKind.TEMPORAL), variant);
    }

    /** x [B·F, L, dim], text [B, 77, contextDim]: four residual branches, each added onto the stream in its output GEMM. */
    Tensor forward(Fn f, Tensor x, Tensor text, int frames) {
        x = f.then(x, in -> {
            Tensor h = norm1.forward(f, in);
            if (variant.frameAttention() == UNetVariant.FrameAttention.CAUSAL) return attn1.forwardCausalOverFrames(f, h, frames, in);
            return attn1.forward(f, h, videoTokens(f, h, frames), frames, in);
        });
        x = f.then(x, in -> attn2.forward(f, norm2.forward(f, in), text, frames, in));
        x = f.then(x, in -> ffOut.forward(f, f.geglu(ffIn.forward(f, norm3.forward(f, in))), in));
        if (!variant.temporalAttention()) return x;
        return f.then(x, in -> attnTemp.forward(f, normTemp.forward(f, in), null, frames, in));
    }

    /**
     * The keys' source of attn1: null (the frames themselves, sparse-causal) or, for full attention, the same tokens
     * [B·F, L, C] viewed as [B, F·L, C]: a video's frames are contiguous, so each frame's queries see all of them.
     */
    private Tensor videoTokens(Fn f, Tensor h, int frames) {
        if (variant.frameAttention() != UNetVariant.FrameAttention.FULL) return null;
        return f.reshape(h, h.dim(0) / frames, frames * h.dim(1), h.dim(2));
    }
}
