package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The VAE's mid-block attention is stored as {@code query/key/value/proj_attn} (diffusers before 0.14, as in the
 * golden data) or {@code to_q/to_k/to_v/to_out.0} (later). This wrapper answers to either name whichever scheme
 * is stored, lists names in the old scheme, and accepts projections stored as 1×1 convs ([C, C, 1, 1]) where a
 * linear [C, C] is asked for.
 */
public final class VaeNames implements Weights {
    private static final String[][] PAIRS = {{".query.", ".to_q."}, {".key.", ".to_k."}, {".value.", ".to_v."}, {".proj_attn.", ".to_out.0."}};
    private static final String ATTN = "mid_block.attentions.";

    private final Weights inner;
    private final Map<String, String> oldToStored;

    private VaeNames(Weights inner) {
        this.inner = inner;
        Map<String, String> m = new LinkedHashMap<>();
        for (String stored : inner.names()) m.put(toOld(stored), stored);
        this.oldToStored = Collections.unmodifiableMap(m);
    }

    public static Weights wrap(Weights w) {
        return w instanceof VaeNames ? w : new VaeNames(w);
    }

    /** {@code name} in the old (query/key/value/proj_attn) scheme; other names unchanged. */
    public static String toOld(String name) {
        if (!name.contains(ATTN)) return name;
        for (String[] p : PAIRS) if (name.contains(p[1])) return name.replace(p[1], p[0]);
        return name;
    }

    /** {@code name} in the new (to_q/to_k/to_v/to_out.0) scheme; other names unchanged. */
    public static String toNew(String name) {
        if (!name.contains(ATTN)) return name;
        for (String[] p : PAIRS) if (name.contains(p[0])) return name.replace(p[0], p[1]);
        return name;
    }

    private String stored(String name) {
        String s = oldToStored.get(toOld(name));
        if (s == null) throw WeightErrors.missing(name, component(), describe() + " (under either VAE attention naming)", inner.names());
        return s;
    }

    @Override public String component() { return inner.component(); }

    @Override public Set<String> names() { return oldToStored.keySet(); }

    @Override public boolean has(String name) { return oldToStored.containsKey(toOld(name)); }

    @Override public int[] shape(String name) { return inner.shape(stored(name)); }

    @Override public Tensor load(String name, int... expectedShape) {
        String s = stored(name);
        int[] actual = inner.shape(s);
        if (expectedShape.length == 2 && actual.length == 4 && actual[2] == 1 && actual[3] == 1 && s.contains(ATTN)
                && actual[0] == expectedShape[0] && actual[1] == expectedShape[1]) {
            try (Tensor conv = inner.load(s)) {
                return Tensor.host(expectedShape).copyFrom(conv);
            }
        }
        WeightErrors.checkShape(s, component(), describe(), actual, expectedShape);
        return inner.load(s);
    }

    /** The old attention names store 1×1 convs where the new ones store Linears: the same values, so the same repacked weight. */
    @Override public Tensor repacked(String name, String layout, int... storedShape) {
        if (!has(name)) return null;
        String s = stored(name);
        int[] actual = inner.shape(s);
        return Tensor.checkedSize(actual) == Tensor.checkedSize(storedShape) ? inner.repacked(s, layout, actual) : null;
    }

    @Override public void keepRepacked(String name, String layout, Tensor packed) {
        if (has(name)) inner.keepRepacked(stored(name), layout, packed);
    }

    @Override public String describe() { return inner.describe(); }

    @Override public void close() { inner.close(); }

    @Override public String toString() { return "VaeNames[" + inner + "]"; }

}
