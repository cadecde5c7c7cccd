package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.nio.file.Path;

/** {@link Weights} over one or more mapped safetensors files. */
final class FileWeights implements Weights {
    private final String component;
    private final List<SafeTensors> files;
    private final Map<String, SafeTensors> index;
    private final RepackCache cache;

    private FileWeights(String component, List<SafeTensors> files, Map<String, SafeTensors> index, RepackCache cache) {
        this.component = component;
        this.files = files;
        this.index = index;
        this.cache = cache;
    }

    static FileWeights open(String component, List<Path> paths, RepackCache cache) {
        if (paths.isEmpty()) throw new IllegalArgumentException("no weight files given for component '" + component + "'");
        List<SafeTensors> files = new ArrayList<>();
        try {
            Map<String, SafeTensors> index = new LinkedHashMap<>();
            for (Path p : paths) {
                SafeTensors st = SafeTensors.open(p);
                files.add(st);
                for (String name : st.names()) {
                    if (name.endsWith("position_ids")) continue;
                    SafeTensors before = index.putIfAbsent(name, st);
                    if (before != null)
                        throw new SafeTensorsException("weight '" + name + "' of component '" + component + "' is in both "
                                + before.path() + " and " + p);
                }
            }
            return new FileWeights(component, List.copyOf(files), Collections.unmodifiableMap(index), cache);
        } catch (RuntimeException e) {
            files.forEach(SafeTensors::close);
            if (cache != null) cache.close();
            throw e;
        }
    }

    @Override public String component() { return component; }

    @Override public Set<String> names() { return index.keySet(); }

    @Override public boolean has(String name) { return index.containsKey(name); }

    @Override public int[] shape(String name) {
        long[] s = file(name).info(name).shape();
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) out[i] = Math.toIntExact(s[i]);
        return out;
    }

    @Override public Tensor load(String name, int... expectedShape) {
        SafeTensors st = file(name);
        WeightErrors.checkShape(name, component, st.path().toString(), shape(name), expectedShape);
        return st.mapF32(name);
    }

    @Override public Tensor repacked(String name, String layout, int... storedShape) {
        if (cache == null || !index.containsKey(name) || !java.util.Arrays.equals(shape(name), storedShape)) return null;
        return cache.get(layout + ":" + name);
    }

    @Override public void keepRepacked(String name, String layout, Tensor packed) {
        if (cache != null) cache.put(layout + ":" + name, packed);
    }

    private SafeTensors file(String name) {
        SafeTensors st = index.get(name);
        if (st == null) throw WeightErrors.missing(name, component, describe(), index.keySet());
        return st;
    }

    @Override public String describe() {
        List<String> paths = files.stream().map(f -> f.path().toString()).toList();
        return paths.size() == 1 ? paths.getFirst() : paths.toString();
    }

    /** Closes the files; a repacked-weights cache being written is completed with what was repacked. */
    @Override public void close() {
        files.forEach(SafeTensors::close);
        if (cache != null) {
            cache.finish();
            cache.close();
        }
    }

    @Override public String toString() { return "Weights[" + component + ": " + describe() + "]"; }
}
