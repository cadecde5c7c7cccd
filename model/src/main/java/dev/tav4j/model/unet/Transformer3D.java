package dev.tav4j.model.unet;

import dev.tav4j.model.nn.GroupNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

/**
 * Transformer3DModel: per-frame GroupNorm (eps 1e-6), proj_in (Linear or 1×1 conv — the same GEMM in
 * channels-last), one transformer block, proj_out, residual.
 */
record Transformer3D(GroupNorm norm, Linear projIn, TransformerBlock block, Linear projOut) {

    static Transformer3D load(ParamStore p, String prefix, int channels, int contextDim, int heads, int groups, boolean linearProjection,
                              UNetVariant variant) {
        Linear in = linearProjection ? Linear.load(p, prefix + ".proj_in", channels, channels, true)
                : Linear.loadConv1x1(p, prefix + ".proj_in", channels, channels);
        TransformerBlock b = TransformerBlock.load(p, prefix + ".transformer_blocks.0", channels, contextDim, heads, variant);
        Linear out = linearProjection ? Linear.load(p, prefix + ".proj_out", channels, channels, true)
                : Linear.loadConv1x1(p, prefix + ".proj_out", channels, channels);
        return new Transformer3D(GroupNorm.load(p, prefix + ".norm", channels, groups, 1e-6f), in, b, out);
    }

    /** x [B·F, H, W, C] → [B·F, H, W, C]. */
    Tensor forward(Fn f, Tensor x, Tensor text, int frames) {
        int n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        Tensor tokens = f.scoped(() -> projIn.forward(f, f.reshape(norm.forward(f, x, 1, false), n, h * w, c)));
        tokens = block.forward(f, tokens, text, frames);
        return f.reshape(projOut.forward(f, tokens, f.reshape(x, n, h * w, c)), n, h, w, c);  // + x, fused
    }
}
