package dev.tav4j.model.unet;

import dev.tav4j.model.nn.Conv2d;
import dev.tav4j.model.nn.GroupNorm;
import dev.tav4j.model.nn.Grads;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/**
 * Tune-A-Video's ResnetBlock3D: convs per frame, GroupNorms over the whole video (statistics pooled over
 * frames), time embedding added per batch item, optional 1×1 shortcut; output scale factor 1.
 */
record ResnetBlock3D(GroupNorm norm1, Conv2d conv1, Linear timeProj, GroupNorm norm2, Conv2d conv2, Linear shortcut) {

    static ResnetBlock3D load(ParamStore p, String prefix, int in, int out, int tembDim, int groups, float eps) {
        return new ResnetBlock3D(
                GroupNorm.load(p, prefix + ".norm1", in, groups, eps),
                Conv2d.load(p, prefix + ".conv1", in, out, 3, 1, 1),
                Linear.load(p, prefix + ".time_emb_proj", tembDim, out, true),
                GroupNorm.load(p, prefix + ".norm2", out, groups, eps),
                Conv2d.load(p, prefix + ".conv2", out, out, 3, 1, 1),
                in == out ? null : Linear.loadConv1x1(p, prefix + ".conv_shortcut", in, out));
    }

    /** The intermediates of one forward, kept when tuning without recomputation. */
    record Cache(Tensor n1, Tensor c1, Tensor n2) implements AutoCloseable {
        @Override public void close() {
            n1.close();
            c1.close();
            n2.close();
        }
    }

    record Cached(Tensor out, Cache cache) {}

    Cached forwardCache(Ops ops, Tensor x, Tensor siluTemb, int frames) {
        Tensor n1 = norm1.apply(ops, x, frames, true), c1 = conv1.apply(ops, n1);
        try (Tensor t = timeProj.apply(ops, siluTemb)) {
            ops.addChannelBias(c1, t, frames, c1);
        }
        Tensor n2 = norm2.apply(ops, c1, frames, true);
        return new Cached(output(ops, x, n2), new Cache(n1, c1, n2));
    }

    /** Backward from x (time embedding frozen): returns dX, a new tensor. With {@code cache} null the forward is recomputed. */
    Tensor backward(Grads g, Tensor x, Tensor siluTemb, int frames, Tensor dY, Cache cache) {
        Ops ops = g.ops();
        if (cache == null) {
            Cached r = forwardCache(ops, x, siluTemb, frames);
            try (Tensor unused = r.out(); Cache c = r.cache()) {
                return backward(g, x, siluTemb, frames, dY, c);
            }
        }
        try (Tensor dN2 = conv2.backwardInput(g, cache.n2(), dY); Tensor dC1 = norm2.backward(g, cache.c1(), frames, true, dN2);
             Tensor dN1 = conv1.backwardInput(g, cache.n1(), dC1)) {
            Tensor dX = norm1.backward(g, x, frames, true, dN1);
            if (shortcut == null) {
                ops.axpby(1f, dX, 1f, dY, dX);
            } else {
                try (Tensor ds = shortcut.backward(g, x, dY, true)) {
                    ops.axpby(1f, dX, 1f, ds, dX);
                }
            }
            return dX;
        }
    }

    /** x [B·F, H, W, in]; siluTemb = silu(time embedding) [B, tembDim]. Returns a new [B·F, H, W, out]. */
    Tensor apply(Ops ops, Tensor x, Tensor siluTemb, int frames) {
        try (Tensor n1 = norm1.apply(ops, x, frames, true); Tensor c1 = conv1.apply(ops, n1);
             Tensor t = timeProj.apply(ops, siluTemb)) {
            ops.addChannelBias(c1, t, frames, c1);
            try (Tensor n2 = norm2.apply(ops, c1, frames, true)) {
                return output(ops, x, n2);
            }
        }
    }

    /**
     * conv2(n2) + shortcut(x) with the residual add fused: into conv2's epilogue for the identity shortcut, else
     * into the 1×1 shortcut GEMM, which accumulates onto conv2's output in place (no shortcut tensor is held).
     * The sum is x + h (or s + h) as the unfused axpby computed it; the gradient of the add is the identity to
     * both inputs, which {@link #backward} passes on unchanged.
     */
    private Tensor output(Ops ops, Tensor x, Tensor n2) {
        Tensor h = conv2.apply(ops, n2, shortcut == null ? x : null);
        if (shortcut != null) {
            try {
                shortcut.apply(ops, x, h, h);
            } catch (RuntimeException | Error e) {
                h.close();  // e.g. out of device memory: release what this block allocated
                throw e;
            }
        }
        return h;
    }
}
