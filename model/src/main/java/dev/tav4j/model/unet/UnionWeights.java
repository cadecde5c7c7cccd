package dev.tav4j.model.unet;

import dev.tav4j.model.io.Weights;
import dev.tav4j.runtime.Tensor;

import java.util.LinkedHashSet;
import java.util.Set;

/** The 2D UNet's weights plus the temporal layers of the inflation; a name present in both is an error. */
final class UnionWeights implements Weights {
    private final Weights base, extra;
    private final Set<String> names = new LinkedHashSet<>();

    UnionWeights(Weights base, Weights extra) {
        this.base = base;
        this.extra = extra;
        names.addAll(base.names());
        for (String n : extra.names())
            if (!names.add(n)) throw new IllegalArgumentException("weight '" + n + "' is in both " + base.describe() + " and " + extra.describe());
    }

    private Weights owner(String name) { return extra.has(name) ? extra : base; }

    @Override public String component() { return base.component(); }

    @Override public Set<String> names() { return names; }

    @Override public int[] shape(String name) { return owner(name).shape(name); }

    @Override public Tensor load(String name, int... expectedShape) { return owner(name).load(name, expectedShape); }

    @Override public Tensor repacked(String name, String layout, int... storedShape) {
        return has(name) ? owner(name).repacked(name, layout, storedShape) : null;
    }

    @Override public void keepRepacked(String name, String layout, Tensor packed) {
        if (has(name)) owner(name).keepRepacked(name, layout, packed);
    }

    @Override public String describe() { return base.describe() + " + " + extra.describe(); }

    @Override public void close() {
        base.close();
        extra.close();
    }
}
