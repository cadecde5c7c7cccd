package dev.tav4j.model.nn;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/** LayerNorm over the last dimension. */
public record LayerNorm(Tensor gamma, Tensor beta, float eps) {

    public static LayerNorm load(ParamStore p, String prefix, int dim, float eps) {
        return new LayerNorm(p.vector(prefix + ".weight", dim), p.vector(prefix + ".bias", dim), eps);
    }

    /** Gradient w.r.t. x (affine frozen). */
    public Tensor backward(Grads g, Tensor x, Tensor dY) {
        if (g.of(gamma) != null) throw new IllegalStateException("training LayerNorm parameters is not supported");
        Tensor dX = g.ops().allocate(x.shape());
        g.grad().layerNormBackward(x, gamma, eps, dY, dX);
        return dX;
    }

    public Tensor apply(Ops ops, Tensor x) {
        Tensor y = ops.allocate(x.shape());
        ops.layerNorm(x, gamma, beta, eps, y);
        return y;
    }
}
