package dev.tav4j.model.unet;

import dev.tav4j.model.nn.Conv2d;
import dev.tav4j.model.nn.GroupNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

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

    /** x [B·F, H, W, in]; siluTemb = silu(time embedding) [B, tembDim]. Returns [B·F, H, W, out]. */
    Tensor forward(Fn f, Tensor x, Tensor siluTemb, int frames) {
        Tensor h = f.scoped(() -> conv1.forward(f, norm1.forward(f, x, frames, true)));
        h = f.addChannelBias(h, timeProj.forward(f, siluTemb), frames);
        // conv2(...) + x, the add fused into conv2; or + conv_shortcut(x), fused into the shortcut's GEMM
        h = f.then(h, in -> conv2.forward(f, norm2.forward(f, in, frames, true), shortcut == null ? x : null));
        return shortcut == null ? h : shortcut.forward(f, x, h);
    }
}
