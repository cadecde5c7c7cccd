package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * A component's weights with LoRA updates merged in as each is loaded (built by {@link Lora#apply}). A merged
 * weight is a fresh tensor: the one below may be a read-only view of the mapped file. Merged weights are never
 * taken from or offered to the repacked-weights cache, which is keyed by the checkpoint's files alone: a cached
 * merged weight would be served to a later load without the LoRA.
 */
final class LoraWeights implements Weights {
    private final Weights inner;
    private final Map<String, List<Lora.Update>> updates;
    private final List<LoraFile> files;

    LoraWeights(Weights inner, Map<String, List<Lora.Update>> updates, List<LoraFile> files) {
        this.inner = inner;
        this.updates = Map.copyOf(updates);
        this.files = files;
    }

    /** The names a LoRA changes. */
    Set<String> merged() { return updates.keySet(); }

    @Override public String component() { return inner.component(); }

    @Override public Set<String> names() { return inner.names(); }

    @Override public boolean has(String name) { return inner.has(name); }

    @Override public int[] shape(String name) { return inner.shape(name); }

    @Override public Tensor load(String name, int... expectedShape) {
        List<Lora.Update> ups = updates.get(name);
        if (ups == null) return inner.load(name, expectedShape);
        int[] shape;
        float[] w;
        try (Tensor base = inner.load(name, expectedShape)) {
            shape = base.shape();
            w = base.toArray();
        }
        merge(w, shape[0], ups);
        return Tensor.of(w, shape);
    }

    /**
     * w[o, k] += Σ factor · up[o, j] · down[j, k], summed in double and rounded once, so the result is the float64
     * merge rounded to float32 (what the reference computes) up to a rare tie.
     */
    static void merge(float[] w, int out, List<Lora.Update> ups) {
        int k = w.length / out;
        IntStream.range(0, out).parallel().forEach(o -> {
            double[] acc = new double[k];
            for (Lora.Update u : ups) {
                int r = u.rank();
                for (int j = 0; j < r; j++) {
                    double a = u.factor() * u.up()[o * r + j];
                    if (a == 0) continue;
                    float[] down = u.down();
                    int base = j * k;
                    for (int c = 0; c < k; c++) acc[c] += a * down[base + c];
                }
            }
            int row = o * k;
            for (int c = 0; c < k; c++) w[row + c] = (float) (w[row + c] + acc[c]);
        });
    }

    @Override public Tensor repacked(String name, String layout, int... storedShape) {
        return updates.containsKey(name) ? null : inner.repacked(name, layout, storedShape);
    }

    @Override public void keepRepacked(String name, String layout, Tensor packed) {
        if (!updates.containsKey(name)) inner.keepRepacked(name, layout, packed);
    }

    @Override public String describe() { return inner.describe() + " with LoRA " + files; }

    @Override public void close() { inner.close(); }

    @Override public String toString() { return "LoraWeights[" + inner + ", " + updates.size() + " merged]"; }
}
