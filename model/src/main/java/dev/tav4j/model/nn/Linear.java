package dev.tav4j.model.nn;

import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

/** y = x·Wᵀ + b over the last dimension; W is stored as [in, out]. */
public record Linear(Tensor weight, Tensor bias, int in, int out) {

    public static Linear load(ParamStore p, String prefix, int in, int out, boolean bias) {
        return new Linear(p.linear(prefix + ".weight", out, in), bias ? p.vector(prefix + ".bias", out) : null, in, out);
    }

    /** A 1×1 convolution used as a Linear over channels-last tokens (non-linear proj_in/out, the VAE's quant convs). */
    public static Linear loadConv1x1(ParamStore p, String prefix, int in, int out) {
        return new Linear(p.conv1x1AsLinear(prefix + ".weight", out, in), p.vector(prefix + ".bias", out), in, out);
    }

    /** x [..., in] → [..., out]. */
    public Tensor forward(Fn f, Tensor x) {
        return f.linear(x, weight, bias, null);
    }

    /** residual + this(x), the add fused into the GEMM (the residual stream may take the result in place). */
    public Tensor forward(Fn f, Tensor x, Tensor residual) {
        return f.linear(x, weight, bias, residual);
    }
}
