package dev.tav4j.model.nn;

import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

/** GroupNorm over channels-last images; statistics pooled over {@code framesPooled} consecutive images. */
public record GroupNorm(Tensor gamma, Tensor beta, int groups, float eps) {

    public static GroupNorm load(ParamStore p, String prefix, int channels, int groups, float eps) {
        return new GroupNorm(p.vector(prefix + ".weight", channels), p.vector(prefix + ".bias", channels), groups, eps);
    }

    /** The normalised x, with SiLU fused when asked. */
    public Tensor forward(Fn f, Tensor x, int framesPooled, boolean silu) {
        return f.groupNorm(x, groups, framesPooled, gamma, beta, eps, silu);
    }
}
