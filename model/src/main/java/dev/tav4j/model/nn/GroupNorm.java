package dev.tav4j.model.nn;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/** GroupNorm over channels-last images; statistics pooled over {@code framesPooled} consecutive images. */
public record GroupNorm(Tensor gamma, Tensor beta, int groups, float eps) {

    public static GroupNorm load(ParamStore p, String prefix, int channels, int groups, float eps) {
        return new GroupNorm(p.vector(prefix + ".weight", channels), p.vector(prefix + ".bias", channels), groups, eps);
    }

    /** A new normalised copy of x, with SiLU fused when asked. */
    public Tensor apply(Ops ops, Tensor x, int framesPooled, boolean silu) {
        Tensor y = ops.allocate(x.shape());
        ops.groupNorm(x, groups, framesPooled, gamma, beta, eps, silu, y);
        return y;
    }
}
