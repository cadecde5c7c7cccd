package dev.tav4j.model.nn;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/** LayerNorm over the last dimension. */
public record LayerNorm(Tensor gamma, Tensor beta, float eps) {

    public static LayerNorm load(ParamStore p, String prefix, int dim, float eps) {
        return new LayerNorm(p.vector(prefix + ".weight", dim), p.vector(prefix + ".bias", dim), eps);
    }

    public Tensor apply(Ops ops, Tensor x) {
        Tensor y = ops.allocate(x.shape());
        ops.layerNorm(x, gamma, beta, eps, y);
        return y;
    }
}
