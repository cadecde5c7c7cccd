package dev.tav4j.model.vae;

import dev.tav4j.model.nn.Conv2d;
import dev.tav4j.model.nn.GroupNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

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

    /** x [N, H, W, in] → [N, H, W, out]; the residual add fused into conv2 (identity) or the shortcut's GEMM. */
    Tensor forward(Fn f, Tensor x) {
        Tensor h = f.scoped(() -> conv1.forward(f, norm1.forward(f, x, 1, true)));
        h = f.then(h, in -> conv2.forward(f, norm2.forward(f, in, 1, true), shortcut == null ? x : null));
        return shortcut == null ? h : shortcut.forward(f, x, h);
    }
}
