package dev.tav4j.model.unet;

import dev.tav4j.model.nn.GroupNorm;
import dev.tav4j.model.nn.Grads;
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

    /** The intermediates of one forward, kept when tuning without recomputation. */
    record Cache(Tensor normed, Tensor tokens, Tensor blockOut, TransformerBlock.Cache block) implements AutoCloseable {
        @Override public void close() {
            normed.close();
            tokens.close();
            blockOut.close();
            block.close();
        }
    }

    /** A forward output with the intermediates that produced it. */
    record Cached(Tensor out, Cache cache) {}

    Cached forwardCache(Ops ops, Tensor x, Tensor text, int frames) {
        int n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        Tensor normed = norm.apply(ops, x, 1, false);
        Tensor tokens = projIn.apply(ops, normed.reshape(n, h * w, c));
        Tensor blockOut = ops.allocate(tokens.shape());
        TransformerBlock.Cache bc = block.forwardCache(ops, tokens, text, frames, blockOut);
        return new Cached(project(ops, blockOut, x), new Cache(normed, tokens, blockOut, bc));
    }

    /** Backward from x: returns dX (a new tensor). With {@code cache} null the forward is recomputed. */
    Tensor backward(Grads g, Tensor x, Tensor text, int frames, Tensor dY, Cache cache) {
        Ops ops = g.ops();
        if (cache == null) {
            Cached r = forwardCache(ops, x, text, frames);
            try (Tensor unused = r.out(); Cache c = r.cache()) {
                return backward(g, x, text, frames, dY, c);
            }
        }
        int n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        try (Tensor dOut = projOut.backward(g, cache.blockOut(), dY.reshape(n, h * w, c), true);
             Tensor dTokens = block.backward(g, cache.tokens(), text, frames, dOut, cache.block());
             Tensor dNormed = projIn.backward(g, cache.normed().reshape(n, h * w, c), dTokens, true)) {
            Tensor dX = norm.backward(g, x, 1, false, dNormed.reshape(n, h, w, c));
            ops.axpby(1f, dX, 1f, dY, dX);
            return dX;
        }
    }

    /** x [B·F, H, W, C] → new tensor of the same shape. */
    Tensor apply(Ops ops, Tensor x, Tensor text, int frames) {
        int n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        Tensor y;
        try (Tensor normed = norm.apply(ops, x, 1, false); Tensor tokens = projIn.apply(ops, normed.reshape(n, h * w, c))) {
            block.apply(ops, tokens, text, frames);
            y = project(ops, tokens, x);
        }
        return y;
    }

    /** proj_out(tokens) + x as a new [N, H, W, C], the residual add fused into the projection GEMM. */
    private Tensor project(Ops ops, Tensor tokens, Tensor x) {
        int n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        Tensor y = ops.allocate(n, h * w, c);
        try {
            projOut.apply(ops, tokens, x.reshape(n, h * w, c), y);
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
        return y.reshapeOwned(n, h, w, c);
    }
}
