package dev.tav4j.model.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.runtime.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One golden case: {@code case.json} (op, model folders relative to the case, inputs, outputs, notes) and its
 * {@code tensors.safetensors}, opened on first use and unmapped by {@link #close()}.
 */
public final class GoldenCase implements AutoCloseable {
    private final String name;
    private final Path dir;
    private final JsonNode json;
    private SafeTensors tensors;

    private GoldenCase(String name, Path dir, JsonNode json) {
        this.name = name;
        this.dir = dir;
        this.json = json;
    }

    static GoldenCase load(Path dir) {
        return load(dir, dir.toAbsolutePath().normalize().getFileName().toString());
    }

    /** The case in {@code dir} under the name it is reported by (its folder's, or with its root where two differ). */
    static GoldenCase load(Path dir, String name) {
        Path abs = dir.toAbsolutePath().normalize();
        return new GoldenCase(name, abs, Json.read(abs.resolve("case.json")));
    }

    /** The folder's name, followed by " [root]" for a same-named case of other bytes in a later root. */
    public String name() { return name; }

    public Path dir() { return dir; }

    /** The case's op: tokenize, text_encode, vae, unet3d, train, ddim, pipeline. */
    public String op() { return json.path("op").asText(); }

    public JsonNode json() { return json; }

    /** {@code relative} resolved against the case folder. */
    public Path resolve(String relative) {
        Path direct = dir.resolve(relative).normalize();
        if (java.nio.file.Files.exists(direct)) return direct;
        // the golden case.json files write model paths relative to the cases/ folder ("../models/…")
        Path fromCases = dir.getParent().resolve(relative).normalize();
        return java.nio.file.Files.exists(fromCases) ? fromCases : direct;
    }

    /** The path a case.json string field names (e.g. "model", "unet"), resolved; null when absent or null. */
    public Path path(String field) {
        JsonNode v = json.get(field);
        return v == null || v.isNull() ? null : resolve(v.asText());
    }

    /** The names listed under a case.json list field (e.g. "inputs", "outputs"). */
    public List<String> list(String field) {
        List<String> out = new ArrayList<>();
        json.path(field).forEach(n -> out.add(n.asText()));
        return out;
    }

    /** The case's tensors.safetensors (opened once, closed with the case). */
    public synchronized SafeTensors tensors() {
        if (tensors == null) tensors = SafeTensors.open(dir.resolve("tensors.safetensors"));
        return tensors;
    }

    /** A new host F32 copy of tensor {@code name} (integer tensors converted). */
    public Tensor tensor(String name) { return tensors().loadF32(name); }

    /** An integer tensor's values (token ids, timesteps). */
    public long[] longs(String name) { return tensors().loadLongs(name); }

    /** "case/tensor", the label Parity prints. */
    public String label(String tensor) { return name + "/" + tensor; }

    @Override public synchronized void close() {
        if (tensors != null) tensors.close();
        tensors = null;
    }

    @Override public String toString() { return name + " (" + op() + ")"; }
}
