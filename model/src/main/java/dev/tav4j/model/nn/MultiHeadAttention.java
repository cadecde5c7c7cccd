package dev.tav4j.model.nn;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

import java.util.ArrayList;
import java.util.List;

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

    /**
     * Causal attention over the frames of each video: frame i of x [B·F, L, dim] attends to the tokens of frames
     * 0 … i of its video (the paper's "causal attention" ablation), self-attention otherwise like {@link #forward}.
     * Composed from one cross-attention per frame on copies of the frames' rows, so every backend runs it with the
     * kernels it has; an ablation, not a hot path.
     */
    public Tensor forwardCausalOverFrames(Fn f, Tensor x, int frames, Tensor residual) {
        int n = x.dim(0), l = x.dim(1), c = q.out();
        if (frames <= 0 || n % frames != 0) throw new IllegalArgumentException("causal attention: " + frames + " frames do not divide x " + x);
        float scale = (float) (1.0 / Math.sqrt(headSize()));
        Tensor qs = q.forward(f, x), ks = k.forward(f, x), vs = v.forward(f, x);
        List<Tensor> frameOut = new ArrayList<>(n);
        for (int video = 0; video < n / frames; video++) {
            for (int i = 0; i < frames; i++) {
                int first = video * frames;
                Tensor qi = f.sliceImages(qs, first + i, 1);
                Tensor ki = f.reshape(f.sliceImages(ks, first, i + 1), 1, (i + 1) * l, c);
                Tensor vi = f.reshape(f.sliceImages(vs, first, i + 1), 1, (i + 1) * l, c);
                frameOut.add(f.attention(AttentionKind.CROSS, 1, heads, scale, qi, ki, vi));
            }
        }
        return o.forward(f, f.concatImages(frameOut), residual);
    }
}
