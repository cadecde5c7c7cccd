package dev.tav4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One mapping of a YAML config, read leniently as PyYAML/OmegaConf would: numbers may be written as strings
 * ({@code 3e-5}, which YAML 1.1 does not call a float), booleans as True/yes/on. Remembers which keys were read so
 * the unknown ones can be reported. Errors name the file and the key.
 */
final class YamlSection {
    private final String file, prefix;
    private final ObjectNode node;
    private final Map<String, Integer> lines;
    private final Set<String> read = new LinkedHashSet<>();

    /** {@code lines}: the line of each key by its dotted path (TuneConfig.lines), for messages. */
    YamlSection(String file, String prefix, ObjectNode node, Map<String, Integer> lines) {
        this.file = file;
        this.prefix = prefix;
        this.node = node;
        this.lines = lines;
    }

    boolean has(String key) {
        read.add(key);
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    private JsonNode get(String key) {
        read.add(key);
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v;
    }

    private IllegalArgumentException bad(String key, String what) {
        Integer line = lines.get(prefix + key);
        return new IllegalArgumentException(file + (line == null ? "" : ":" + line) + ": " + prefix + key + " " + what);
    }

    String requiredString(String key) {
        String s = string(key, null);
        if (s == null) throw bad(key, "is missing");
        return s;
    }

    /** A required path; a string that cannot be one (it holds a NUL) is refused naming the key. */
    Path requiredPath(String key) {
        String s = requiredString(key);
        try {
            return Path.of(s);
        } catch (InvalidPathException e) {
            throw bad(key, "is not a valid path: " + e.getReason());
        }
    }

    /** An optional path (null when the key is left out); one that cannot be a path is refused naming the key. */
    Path optionalPath(String key) {
        String s = string(key, null);
        if (s == null) return null;
        try {
            return Path.of(s);
        } catch (InvalidPathException e) {
            throw bad(key, "is not a valid path: " + e.getReason());
        }
    }

    String string(String key, String dflt) {
        JsonNode v = get(key);
        if (v == null) return dflt;
        if (!v.isValueNode()) throw bad(key, "must be a single value, got " + v.getNodeType().name().toLowerCase(Locale.ROOT));
        return v.asText();
    }

    /**
     * A word from a fixed set, such as mixed_precision's no/fp16/bf16. YAML 1.1 reads an unquoted {@code no} (or
     * {@code off}, {@code false}) as the boolean false, which means the word "no"; the caller checks the word.
     */
    String choice(String key, String dflt) {
        JsonNode v = get(key);
        if (v != null && v.isBoolean() && !v.booleanValue()) return "no";
        return string(key, dflt);
    }

    double number(String key, double dflt) {
        JsonNode v = get(key);
        if (v == null) return dflt;
        if (v.isNumber()) return v.doubleValue();
        if (v.isTextual()) {
            try {
                return Double.parseDouble(v.asText().strip().replace("_", ""));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw bad(key, "must be a number, got '" + v.asText() + "'");
    }

    int integer(String key, int dflt) {
        JsonNode v = get(key);
        if (v == null) return dflt;
        double d = number(key, dflt);
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) throw bad(key, "must be a whole number, got '" + v.asText() + "'");
        return (int) d;
    }

    /** An integer, or null when absent (e.g. seed: null). */
    Long optionalLong(String key) {
        JsonNode v = get(key);
        if (v == null) return null;
        if (v.isIntegralNumber()) return v.longValue();
        try {
            return Long.parseLong(v.asText().strip());
        } catch (NumberFormatException e) {
            throw bad(key, "must be a whole number, got '" + v.asText() + "'");
        }
    }

    boolean bool(String key, boolean dflt) {
        JsonNode v = get(key);
        if (v == null) return dflt;
        if (v.isBoolean()) return v.booleanValue();
        return switch (v.asText().strip().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw bad(key, "must be true or false, got '" + v.asText() + "'");
        };
    }

    /** A list of strings; a single string counts as a list of one. */
    List<String> strings(String key, List<String> dflt) {
        JsonNode v = get(key);
        if (v == null) return dflt;
        if (v.isValueNode()) return List.of(v.asText());
        if (!v.isArray()) throw bad(key, "must be a list of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isValueNode() || e.isNull()) throw bad(key, "must be a list of strings, found " + e);
            out.add(e.asText());
        }
        return List.copyOf(out);
    }

    /**
     * LoRA files: a list of paths ({@code FILE} or {@code FILE:SCALE}) or of mappings {@code {path: FILE, scale: S}};
     * a single path counts as a list of one.
     */
    List<dev.tav4j.model.io.LoraFile> loras(String key) {
        JsonNode v = get(key);
        if (v == null || v.isNull()) return List.of();
        List<JsonNode> items = new ArrayList<>();
        if (v.isArray()) v.forEach(items::add); else items.add(v);
        List<dev.tav4j.model.io.LoraFile> out = new ArrayList<>();
        for (JsonNode e : items) {
            try {
                if (e.isTextual()) out.add(dev.tav4j.model.io.LoraFile.parse(e.asText()));
                else if (e.isObject() && e.path("path").isTextual() && e.size() <= 2 && (e.size() == 1 || e.path("scale").isNumber()))
                    out.add(new dev.tav4j.model.io.LoraFile(Path.of(e.get("path").asText()), e.has("scale") ? (float) e.get("scale").asDouble() : 1f));
                else throw bad(key, "must be a list of LoRA files (paths, or {path: FILE, scale: NUMBER}), found " + e);
            } catch (InvalidPathException | dev.tav4j.model.config.ConfigException x) {
                throw bad(key, x.getMessage());
            }
        }
        return List.copyOf(out);
    }

    YamlSection section(String key) {
        JsonNode v = get(key);
        if (v == null) throw bad(key, "is missing");
        if (!(v instanceof ObjectNode o)) throw bad(key, "must be a mapping of keys to values");
        return new YamlSection(file, prefix + key + ".", o, lines);
    }

    /** Keys present in the file that were never read, with their section prefix. */
    List<String> unknownKeys() {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!read.contains(k)) out.add(prefix + k);
        }
        return out;
    }
}
