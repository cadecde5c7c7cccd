package dev.tav4j.model.pipeline;

import dev.tav4j.model.io.Weights;
import dev.tav4j.runtime.Tensor;

import java.util.Set;

/**
 * Deterministic random weights of whatever shape a model asks for, for benchmarks and the smoke-test model:
 * matrices uniform ±1/√fan-in (PyTorch's default init scale), norm scales near 1, biases small. Each tensor
 * depends only on the seed and its name, so a model is the same however it is loaded.
 */
public final class RandomWeights implements Weights {
    private final String component;
    private final long seed;

    public RandomWeights(String component, long seed) {
        this.component = component;
        this.seed = seed;
    }

    @Override public String component() { return component; }

    /** Unknown up front: every name is produced on request. */
    @Override public Set<String> names() { return Set.of(); }

    @Override public boolean has(String name) { return false; }

    @Override public int[] shape(String name) {
        throw new UnsupportedOperationException("random weights have no stored shape for " + name);
    }

    @Override public Tensor load(String name, int... shape) {
        if (shape.length == 0) throw new IllegalArgumentException("random weight " + name + " needs its shape");
        Gaussian g = new Gaussian(seed * 31 + name.hashCode());
        Tensor t = Tensor.host(shape);
        boolean vector = shape.length == 1;
        boolean normScale = vector && name.endsWith(".weight");
        long fanIn = vector ? shape[0] : t.size() / shape[0];
        double bound = 1.0 / Math.sqrt(Math.max(1, fanIn));
        for (long i = 0; i < t.size(); i++) {
            double u = g.uniform(-1, 1);
            t.set(i, (float) (normScale ? 1 + 0.1 * u : vector ? 0.1 * bound * u : bound * u));
        }
        return t;
    }

    @Override public String describe() { return "random weights (seed " + seed + ")"; }

    @Override public void close() {}
}
