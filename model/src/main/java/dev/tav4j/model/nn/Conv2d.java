package dev.tav4j.model.nn;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

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

    /** Gradient w.r.t. the input (conv weights stay frozen in tuning); x gives the input shape. */
    public Tensor backwardInput(Grads g, Tensor x, Tensor dY) {
        if (g.of(weight) != null) throw new IllegalStateException("training convolution weights is not supported");
        Tensor dX = g.ops().allocate(x.shape());
        g.grad().conv2dBackwardInput(dY, weight, stride, padding, padBottomRightOnly, dX);
        return dX;
    }

    /** x [N, H, W, in] → new [N, Ho, Wo, out]. */
    public Tensor apply(Ops ops, Tensor x) {
        return apply(ops, x, null);
    }

    /** x [N, H, W, in] → new [N, Ho, Wo, out] = conv(x) + bias + residual (residual null: none), fused in the conv. */
    public Tensor apply(Ops ops, Tensor x, Tensor residual) {
        int h = x.dim(1), w = x.dim(2);
        int extra = padBottomRightOnly ? 1 : 2 * padding;
        int ho = (h + extra - kernel) / stride + 1, wo = (w + extra - kernel) / stride + 1;
        Tensor y = ops.allocate(x.dim(0), ho, wo, out);
        try {
            ops.conv2d(x, weight, bias, stride, padding, padBottomRightOnly, residual, y);
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
        return y;
    }
}
