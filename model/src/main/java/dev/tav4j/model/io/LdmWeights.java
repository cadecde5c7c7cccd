package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One component of a single-file (LDM layout) checkpoint under its diffusers names ({@link LdmNames}). Weights are
 * the mapped file's, as {@link FileWeights} gives them; a 1×1-conv attention projection is answered as the Linear
 * diffusers makes of it (same values, a reshaped view), and OpenCLIP's fused {@code in_proj} as three copies of its
 * thirds. No repacked-weights cache is offered: the mapping depends on the config given with the file, which the
 * cache's key (the files) would not see.
 */
final class LdmWeights implements Weights {
    /** Where a diffusers name comes from: the stored key, and for a split tensor which of {@code parts} rows. */
    record Source(String key, int part, int parts, boolean squeeze) {}

    private final String component;
    private final SafeTensors st;
    private final Map<String, Source> index;

    private LdmWeights(String component, SafeTensors st, Map<String, Source> index) {
        this.component = component;
        this.st = st;
        this.index = index;
    }

    /** Opens {@code file} and indexes {@code component}'s keys; closes the file when indexing fails. */
    static LdmWeights open(String component, Path file, java.util.function.Function<SafeTensors, Map<String, Source>> indexer) {
        SafeTensors st = SafeTensors.open(file);
        try {
            return new LdmWeights(component, st, Collections.unmodifiableMap(indexer.apply(st)));
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    static Map<String, Source> unetIndex(SafeTensors st, int layersPerBlock) {
        Map<String, Source> m = new LinkedHashMap<>();
        for (String key : st.names()) {
            if (!key.startsWith(LdmNames.UNET)) continue;
            String name = LdmNames.unet(key.substring(LdmNames.UNET.length()), layersPerBlock);
            if (name != null) m.put(name, plain(st, key, name));
        }
        return m;
    }

    static Map<String, Source> vaeIndex(SafeTensors st, int upBlocks) {
        Map<String, Source> m = new LinkedHashMap<>();
        for (String key : st.names()) {
            if (!key.startsWith(LdmNames.VAE)) continue;
            String name = LdmNames.vae(key.substring(LdmNames.VAE.length()), upBlocks);
            if (name != null) m.put(name, plain(st, key, name));
        }
        return m;
    }

    static Map<String, Source> clipIndex(SafeTensors st) {
        Map<String, Source> m = new LinkedHashMap<>();
        for (String key : st.names()) {
            if (!key.startsWith(LdmNames.CLIP)) continue;
            String name = LdmNames.clip(key.substring(LdmNames.CLIP.length()));
            if (name != null) m.put(name, new Source(key, 0, 1, false));
        }
        return m;
    }

    /**
     * SD 2.x's OpenCLIP text tower; resblocks from {@code layers} on are not converted (SD 2 reads the penultimate
     * block, so diffusers' text encoder has one layer less than the tower). {@code hidden}: the width the fused
     * q/k/v rows split by (diffusers takes it from text_projection, which is hidden × hidden).
     */
    static Map<String, Source> openClipIndex(SafeTensors st, int layers, int hidden) {
        Map<String, Source> m = new LinkedHashMap<>();
        for (String key : st.names()) {
            if (!key.startsWith(LdmNames.OPEN_CLIP)) continue;
            String k = key.substring(LdmNames.OPEN_CLIP.length());
            int layer = LdmNames.openClipLayer(k);
            if (layer >= layers) continue;
            for (String fused : new String[]{"in_proj_weight", "in_proj_bias"}) {
                if (layer >= 0 && k.endsWith(".attn." + fused)) {
                    long rows = st.info(key).shape()[0];
                    if (rows != 3L * hidden)
                        throw new SafeTensorsException(st.path() + ": '" + key + "' has " + rows + " rows, not 3 × " + hidden + " (q, k, v)");
                    String base = "text_model.encoder.layers." + layer + ".self_attn.";
                    String suffix = fused.endsWith("weight") ? ".weight" : ".bias";
                    String[] qkv = {"q_proj", "k_proj", "v_proj"};
                    for (int i = 0; i < 3; i++) m.put(base + qkv[i] + suffix, new Source(key, i, 3, false));
                }
            }
            String name = LdmNames.openClip(k);
            if (name != null) m.put(name, new Source(key, 0, 1, false));
        }
        return m;
    }

    /** diffusers' {@code assign_to_checkpoint}/{@code conv_attn_to_linear}: attention projections stored as convs become Linears. */
    private static Source plain(SafeTensors st, String key, String name) {
        boolean attn = name.contains("attentions") && (name.contains(".to_") || name.contains("proj_attn.weight"));
        boolean squeeze = attn && name.endsWith(".weight") && st.info(key).shape().length > 2;
        return new Source(key, 0, 1, squeeze);
    }

    @Override public String component() { return component; }

    @Override public Set<String> names() { return index.keySet(); }

    @Override public boolean has(String name) { return index.containsKey(name); }

    @Override public int[] shape(String name) {
        Source s = source(name);
        long[] stored = st.info(s.key).shape();
        int[] out = new int[s.squeeze ? 2 : stored.length];
        for (int i = 0; i < out.length; i++) out[i] = Math.toIntExact(stored[i]);
        out[0] /= s.parts;
        return out;
    }

    @Override public Tensor load(String name, int... expectedShape) {
        Source s = source(name);
        int[] shape = shape(name);
        WeightErrors.checkShape(name, component, describe(), shape, expectedShape);
        Tensor stored = st.mapF32(s.key);
        if (s.parts == 1) return s.squeeze ? stored.reshapeOwned(shape) : stored;
        try (stored) {
            return Tensor.host(shape).copyFrom(stored.slice(s.part * shape[0], shape[0]));
        }
    }

    private Source source(String name) {
        Source s = index.get(name);
        if (s == null) throw WeightErrors.missing(name, component, describe(), index.keySet());
        return s;
    }

    /** The stored key a diffusers name is read from (for messages and tests). */
    String storedKey(String name) { return source(name).key; }

    @Override public String describe() { return st.path() + " (single file, LDM layout)"; }

    @Override public void close() { st.close(); }

    @Override public String toString() { return "LdmWeights[" + component + ": " + st.path() + "]"; }

}
