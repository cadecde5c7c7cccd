package dev.tav4j.model.unet;

import dev.tav4j.model.nn.Conv2d;
import dev.tav4j.model.nn.GroupNorm;
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

    /** x [B·F, H, W, in]; siluTemb = silu(time embedding) [B, tembDim]. Returns a new [B·F, H, W, out]. */
    Tensor apply(Ops ops, Tensor x, Tensor siluTemb, int frames) {
        Tensor h;
        try (Tensor n1 = norm1.apply(ops, x, frames, true); Tensor c1 = conv1.apply(ops, n1);
             Tensor t = timeProj.apply(ops, siluTemb)) {
            ops.addChannelBias(c1, t, frames, c1);
            try (Tensor n2 = norm2.apply(ops, c1, frames, true)) {
                h = conv2.apply(ops, n2);
            }
        }
        if (shortcut == null) {
            ops.axpby(1f, x, 1f, h, h);
        } else {
            try (Tensor s = shortcut.apply(ops, x)) {
                ops.axpby(1f, s, 1f, h, h);
            }
        }
        return h;
    }
}
