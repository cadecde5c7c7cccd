package dev.tav4j.model.unet;

import dev.tav4j.model.nn.GroupNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/**
 * Transformer3DModel: per-frame GroupNorm (eps 1e-6), proj_in (Linear or 1×1 conv — the same GEMM in
 * channels-last), one transformer block, proj_out, residual.
 */
record Transformer3D(GroupNorm norm, Linear projIn, TransformerBlock block, Linear projOut) {

    static Transformer3D load(ParamStore p, String prefix, int channels, int contextDim, int heads, int groups, boolean linearProjection) {
        Linear in = linearProjection ? Linear.load(p, prefix + ".proj_in", channels, channels, true)
                : Linear.loadConv1x1(p, prefix + ".proj_in", channels, channels);
        TransformerBlock b = TransformerBlock.load(p, prefix + ".transformer_blocks.0", channels, contextDim, heads);
        Linear out = linearProjection ? Linear.load(p, prefix + ".proj_out", channels, channels, true)
                : Linear.loadConv1x1(p, prefix + ".proj_out", channels, channels);
        return new Transformer3D(GroupNorm.load(p, prefix + ".norm", channels, groups, 1e-6f), in, b, out);
    }

    /** x [B·F, H, W, C] → new tensor of the same shape. */
    Tensor apply(Ops ops, Tensor x, Tensor text, int frames) {
        int n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        Tensor y;
        try (Tensor normed = norm.apply(ops, x, 1, false); Tensor tokens = projIn.apply(ops, normed.reshape(n, h * w, c))) {
            block.apply(ops, tokens, text, frames);
            y = projOut.apply(ops, tokens).reshapeOwned(n, h, w, c);
        }
        ops.axpby(1f, x, 1f, y, y);
        return y;
    }
}
