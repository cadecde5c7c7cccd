package dev.tav4j.model.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Small helpers over Jackson for reading diffusers/transformers config files with clear errors. A value of the
 * wrong JSON type is refused naming the file, the key, the expected and the found type (Jackson's lenient
 * {@code asInt()} would read "two" as 0).
 */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    /** Parses a JSON file; the error names the file, line and column. */
    public static JsonNode read(Path file) {
        try {
            return MAPPER.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": file not found");
        } catch (IOException e) {
            throw new ConfigException(file + ": not valid JSON: " + parseError(e));
        }
    }

    /**
     * Jackson's message without its source excerpt ("Source: REDACTED (StreamReadFeature…)") and on one line,
     * with the line and column where it has them.
     */
    public static String parseError(IOException e) {
        if (e instanceof JsonProcessingException j) {
            String msg = j.getOriginalMessage() == null ? j.getClass().getSimpleName() : j.getOriginalMessage().lines().findFirst().orElse("");
            JsonLocation loc = j.getLocation();
            return loc != null && loc.getLineNr() > 0 ? "line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ": " + msg : msg;
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
    }

    /** The JSON type of a value as a user reads it, with the value when short: {@code a string ("two")}. */
    static String describe(JsonNode v) {
        String text = v.toString();
        String shown = text.length() <= 40 ? " (" + text + ")" : "";
        return switch (v.getNodeType()) {
            case STRING -> "a string" + shown;
            case NUMBER -> (v.isIntegralNumber() ? "an integer" : "a number") + shown;
            case BOOLEAN -> "a boolean" + shown;
            case ARRAY -> "a list" + shown;
            case OBJECT -> "an object";
            default -> v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    static ConfigException wrongType(String where, String key, String expected, JsonNode found) {
        return new ConfigException(where + ": '" + key + "' must be " + expected + ", found " + describe(found));
    }

    /** An integer value: integral numbers (2 or 2.0), nothing else. */
    static int asInt(JsonNode v, String where, String key) {
        if (!v.isNumber() || v.doubleValue() != Math.rint(v.doubleValue()) || Math.abs(v.doubleValue()) > Integer.MAX_VALUE)
            throw wrongType(where, key, "an integer", v);
        return (int) v.doubleValue();
    }

    static int intOr(JsonNode n, String key, int dflt, String where) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : asInt(v, where, key);
    }

    /** An integer that must be at least {@code min} (a count or a divisor). */
    static int intAtLeast(JsonNode n, String key, int dflt, int min, String where) {
        int v = intOr(n, key, dflt, where);
        if (v < min) throw new ConfigException(where + ": '" + key + "' must be at least " + min + ", found " + v);
        return v;
    }

    static float floatOr(JsonNode n, String key, float dflt, String where) {
        return (float) doubleOr(n, key, dflt, where);
    }

    static double doubleOr(JsonNode n, String key, double dflt, String where) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw wrongType(where, key, "a number", v);
        return v.doubleValue();
    }

    static boolean boolOr(JsonNode n, String key, boolean dflt, String where) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw wrongType(where, key, "true or false", v);
        return v.booleanValue();
    }

    static String strOr(JsonNode n, String key, String dflt, String where) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isTextual()) throw wrongType(where, key, "a string", v);
        return v.textValue();
    }

    static int requireInt(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) throw new ConfigException(where + ": missing integer '" + key + "'");
        return asInt(v, where, key);
    }

    /** A list of positive integers. */
    static int[] intArray(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) throw new ConfigException(where + ": missing list '" + key + "'");
        if (!v.isArray()) throw wrongType(where, key, "a list of integers", v);
        int[] a = new int[v.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = asInt(v.get(i), where, key + "[" + i + "]");
            if (a[i] < 1) throw new ConfigException(where + ": '" + key + "[" + i + "]' must be at least 1, found " + a[i]);
        }
        if (a.length == 0) throw new ConfigException(where + ": '" + key + "' is empty");
        return a;
    }

    static List<String> strings(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) throw new ConfigException(where + ": missing list '" + key + "'");
        if (!v.isArray()) throw wrongType(where, key, "a list of strings", v);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) throw wrongType(where, key + "[" + i + "]", "a string", v.get(i));
            out.add(v.get(i).textValue());
        }
        return List.copyOf(out);
    }
}
