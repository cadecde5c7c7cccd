package dev.tav4j.model.plan;

import dev.tav4j.model.io.Weights;
import dev.tav4j.runtime.Tensor;

import java.util.Set;

/**
 * Weights of whatever shape a model asks for, with no values: host tensors of the {@link PlanOps} (counted where the
 * backend computes on the host, as its weights are). Repacked weights come "from the cache", already in the engine's
 * layout, so nothing is ever read or transposed.
 */
final class ShapeWeights implements Weights {
    private final PlanOps ops;
    private final String component;

    ShapeWeights(PlanOps ops, String component) {
        this.ops = ops;
        this.component = component;
    }

    @Override public String component() { return component; }

    @Override public Set<String> names() { return Set.of(); }

    @Override public boolean has(String name) { return false; }

    @Override public int[] shape(String name) {
        throw new UnsupportedOperationException("the memory plan's weights have no stored shape for " + name);
    }

    @Override public Tensor load(String name, int... shape) {
        if (shape.length == 0) throw new IllegalArgumentException("the memory plan needs the shape of " + name);
        return ops.hostTensor(shape);
    }

    /** The engine layouts (ParamStore's "transposed" [in, out] and "hwio" [k, k, in, out]) from the stored shape. */
    @Override public Tensor repacked(String name, String layout, int... stored) {
        return switch (layout) {
            case "transposed" -> ops.hostTensor(stored[1], stored[0]);
            case "hwio" -> ops.hostTensor(stored[2], stored[3], stored[1], stored[0]);
            default -> null;
        };
    }

    @Override public String describe() { return "shapes only (memory plan)"; }

    @Override public void close() {}
}
