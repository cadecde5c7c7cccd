package dev.tav4j.model.nn;

import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

/** LayerNorm over the last dimension. */
public record LayerNorm(Tensor gamma, Tensor beta, float eps) {

    public static LayerNorm load(ParamStore p, String prefix, int dim, float eps) {
        return new LayerNorm(p.vector(prefix + ".weight", dim), p.vector(prefix + ".bias", dim), eps);
    }

    public Tensor forward(Fn f, Tensor x) {
        return f.layerNorm(x, gamma, beta, eps);
    }
}
