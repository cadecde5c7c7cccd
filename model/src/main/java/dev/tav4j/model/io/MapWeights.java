package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** {@link Weights} over tensors in memory; loads return copies. */
final class MapWeights implements Weights {
    private final String component;
    private final Map<String, Tensor> tensors;

    MapWeights(String component, Map<String, Tensor> tensors) {
        this.component = component;
        Map<String, Tensor> m = new LinkedHashMap<>();
        tensors.forEach((k, v) -> { if (!k.endsWith("position_ids")) m.put(k, v); });
        this.tensors = Collections.unmodifiableMap(m);
    }

    @Override public String component() { return component; }

    @Override public Set<String> names() { return tensors.keySet(); }

    @Override public boolean has(String name) { return tensors.containsKey(name); }

    @Override public int[] shape(String name) { return get(name).shape(); }

    @Override public Tensor load(String name, int... expectedShape) {
        Tensor t = get(name);
        WeightErrors.checkShape(name, component, describe(), t.shape(), expectedShape);
        return Tensor.host(t.shape()).copyFrom(t);
    }

    private Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw WeightErrors.missing(name, component, describe(), tensors.keySet());
        return t;
    }

    @Override public String describe() { return "in-memory weights of " + component; }

    @Override public void close() { /* the map's owner closes its tensors */ }

    @Override public String toString() { return "Weights[" + describe() + ", " + tensors.size() + " tensors]"; }
}
