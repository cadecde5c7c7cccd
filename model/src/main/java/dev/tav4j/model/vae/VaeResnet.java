package dev.tav4j.model.vae;

import dev.tav4j.model.nn.Conv2d;
import dev.tav4j.model.nn.GroupNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/** diffusers ResnetBlock2D without time embedding (eps 1e-6), as in the VAE. */
record VaeResnet(GroupNorm norm1, Conv2d conv1, GroupNorm norm2, Conv2d conv2, Linear shortcut) {
    static final float EPS = 1e-6f;

    static VaeResnet load(ParamStore p, String prefix, int in, int out, int groups) {
        return new VaeResnet(
                GroupNorm.load(p, prefix + ".norm1", in, groups, EPS),
                Conv2d.load(p, prefix + ".conv1", in, out, 3, 1, 1),
                GroupNorm.load(p, prefix + ".norm2", out, groups, EPS),
                Conv2d.load(p, prefix + ".conv2", out, out, 3, 1, 1),
                in == out ? null : Linear.loadConv1x1(p, prefix + ".conv_shortcut", in, out));
    }

    /**
     * Returns a new tensor; x is left as it was. The residual add is fused: into conv2's epilogue (identity
     * shortcut), or into the 1×1 shortcut GEMM accumulating onto conv2's output in place.
     */
    Tensor apply(Ops ops, Tensor x) {
        Tensor h2;
        try (Tensor h = norm1.apply(ops, x, 1, true); Tensor c1 = conv1.apply(ops, h);
             Tensor n2 = norm2.apply(ops, c1, 1, true)) {
            h2 = conv2.apply(ops, n2, shortcut == null ? x : null);
        }
        if (shortcut != null) {
            try {
                shortcut.apply(ops, x, h2, h2);
            } catch (RuntimeException | Error e) {
                h2.close();
                throw e;
            }
        }
        return h2;
    }
}
