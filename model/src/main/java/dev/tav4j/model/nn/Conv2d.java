package dev.tav4j.model.nn;

import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

/** A 2D convolution applied per image (per frame for video: the "inflated" conv of Tune-A-Video). */
public record Conv2d(Tensor weight, Tensor bias, int in, int out, int kernel, int stride, int padding, boolean padBottomRightOnly) {

    public static Conv2d load(ParamStore p, String prefix, int in, int out, int kernel, int stride, int padding) {
        return new Conv2d(p.conv(prefix + ".weight", out, in, kernel), p.vector(prefix + ".bias", out),
                in, out, kernel, stride, padding, false);
    }

    /** The VAE encoder's downsampler: pad right/bottom by one, 3×3 stride 2, no other padding. */
    public static Conv2d loadAsymmetricDown(ParamStore p, String prefix, int channels) {
        return new Conv2d(p.conv(prefix + ".weight", channels, channels, 3), p.vector(prefix + ".bias", channels),
                channels, channels, 3, 2, 0, true);
    }

    /** x [N, H, W, in] → [N, Ho, Wo, out]. */
    public Tensor forward(Fn f, Tensor x) {
        return forward(f, x, null);
    }

    /** conv(x) + bias + residual (null: none), the add fused into the convolution. */
    public Tensor forward(Fn f, Tensor x, Tensor residual) {
        return f.conv2d(x, weight, bias, stride, padding, padBottomRightOnly, residual);
    }
}
