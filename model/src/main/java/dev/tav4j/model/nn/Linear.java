package dev.tav4j.model.nn;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/** y = x·Wᵀ + b over the last dimension; W is stored as [in, out]. */
public record Linear(Tensor weight, Tensor bias, int in, int out) {

    public static Linear load(ParamStore p, String prefix, int in, int out, boolean bias) {
        return new Linear(p.linear(prefix + ".weight", out, in), bias ? p.vector(prefix + ".bias", out) : null, in, out);
    }

    /** A 1×1 convolution used as a Linear over channels-last tokens (non-linear proj_in/out, the VAE's quant convs). */
    public static Linear loadConv1x1(ParamStore p, String prefix, int in, int out) {
        return new Linear(p.conv1x1AsLinear(prefix + ".weight", out, in), p.vector(prefix + ".bias", out), in, out);
    }

    /**
     * Backward: accumulates the weight/bias gradients when they are trainable and returns dX (a new tensor), or
     * null when {@code needInputGrad} is false.
     */
    public Tensor backward(Grads g, Tensor x, Tensor dY, boolean needInputGrad) {
        Tensor gw = g.of(weight);
        if (gw != null) g.grad().matmulBackwardWeight(x, dY, gw, g.of(bias));
        else if (g.of(bias) != null) throw new IllegalStateException("a trainable bias without its weight is not supported");
        if (!needInputGrad) return null;
        Tensor dX = g.ops().allocate(x.shape());
        g.grad().matmulBackwardInput(dY, weight, dX);
        return dX;
    }

    /** Applies to x [..., in], returning a new [..., out]. */
    public Tensor apply(Ops ops, Tensor x) {
        int[] s = x.shape();
        s[s.length - 1] = out;
        Tensor y = ops.allocate(s);
        ops.matmul(x, weight, bias, y);
        return y;
    }

    /** out = x·W + b + residual in one fused op (residual may be out itself: an in-place residual-stream update). */
    public void apply(Ops ops, Tensor x, Tensor residual, Tensor out) {
        ops.matmul(x, weight, bias, residual, out);
    }
}
