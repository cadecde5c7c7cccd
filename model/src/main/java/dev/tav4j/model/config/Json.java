package dev.tav4j.model.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Small helpers over Jackson for reading diffusers/transformers config files with clear errors. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    /** Parses a JSON file; the error names the file. */
    public static JsonNode read(Path file) {
        try {
            return MAPPER.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": file not found");
        } catch (IOException e) {
            throw new ConfigException(file + ": not valid JSON: " + e.getMessage());
        }
    }

    static int intOr(JsonNode n, String key, int dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asInt();
    }

    static float floatOr(JsonNode n, String key, float dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : (float) v.asDouble();
    }

    static double doubleOr(JsonNode n, String key, double dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asDouble();
    }

    static boolean boolOr(JsonNode n, String key, boolean dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asBoolean();
    }

    static String strOr(JsonNode n, String key, String dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asText();
    }

    static int requireInt(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || !v.isNumber()) throw new ConfigException(where + ": missing integer '" + key + "'");
        return v.asInt();
    }

    static int[] intArray(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || !v.isArray()) throw new ConfigException(where + ": missing list '" + key + "'");
        int[] a = new int[v.size()];
        for (int i = 0; i < a.length; i++) a[i] = v.get(i).asInt();
        return a;
    }

    static List<String> strings(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || !v.isArray()) throw new ConfigException(where + ": missing list '" + key + "'");
        List<String> out = new ArrayList<>();
        v.forEach(e -> out.add(e.asText()));
        return List.copyOf(out);
    }
}
