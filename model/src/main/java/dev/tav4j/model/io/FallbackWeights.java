package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;

import java.util.Set;
import java.util.function.Supplier;

/**
 * A tuned UNet's weights with the base checkpoint's UNet behind them: a name the tuned folder has comes from it;
 * any other is taken from the base, which is opened only when the first such name is asked for. So a complete tuned
 * folder (what Tune-A-Video saves) never maps the base UNet, and a partial one needs nothing more.
 */
final class FallbackWeights implements Weights {
    private final Weights primary;
    private final Supplier<Weights> openBase;
    private Weights base;

    FallbackWeights(Weights primary, Supplier<Weights> openBase) {
        this.primary = primary;
        this.openBase = openBase;
    }

    private synchronized Weights base() {
        if (base == null) base = openBase.get();
        return base;
    }

    private Weights owner(String name) {
        if (primary.has(name)) return primary;
        Weights b = base();
        if (b.has(name)) return b;
        throw WeightErrors.missing(name, component(), describe(), primary.names());
    }

    @Override public String component() { return primary.component(); }

    /** The primary's names (the base's are not listed: they are looked up by name). */
    @Override public Set<String> names() { return primary.names(); }

    @Override public boolean has(String name) { return primary.has(name) || base().has(name); }

    @Override public int[] shape(String name) { return owner(name).shape(name); }

    @Override public Tensor load(String name, int... expectedShape) { return owner(name).load(name, expectedShape); }

    @Override public Tensor repacked(String name, String layout, int... storedShape) {
        return has(name) ? owner(name).repacked(name, layout, storedShape) : null;
    }

    @Override public void keepRepacked(String name, String layout, Tensor packed) {
        if (has(name)) owner(name).keepRepacked(name, layout, packed);
    }

    @Override public String describe() { return primary.describe() + " (then " + (base == null ? "the base checkpoint" : base.describe()) + ")"; }

    @Override public synchronized void close() {
        primary.close();
        if (base != null) base.close();
    }
}
