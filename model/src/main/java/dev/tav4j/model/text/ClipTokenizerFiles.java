package dev.tav4j.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.config.Json;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Reads the files of a diffusers {@code tokenizer/} folder; every error names the file. */
final class ClipTokenizerFiles {
    /** transformers keeps at most this many merges: {@code [1 : 49152 - 256 - 2 + 1]} of the file's lines. */
    static final int MAX_MERGE_LINE = 49152 - 256 - 2 + 1;

    private ClipTokenizerFiles() {}

    /** vocab.json: a JSON object from token to non-negative integer id. */
    static Map<String, Integer> readVocab(Path file) {
        return parseVocab(Json.read(file), file.toString());
    }

    static Map<String, Integer> parseVocab(JsonNode root, String file) {
        if (!root.isObject() || root.isEmpty()) {
            throw new ConfigException(file + ": expected a non-empty JSON object mapping tokens to ids");
        }
        Map<String, Integer> vocab = new HashMap<>(root.size() * 2);
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            JsonNode v = e.getValue();
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0) {
                throw new ConfigException(file + ": id of token '" + e.getKey() + "' is not a non-negative integer: " + v);
            }
            vocab.put(e.getKey(), v.asInt());
        }
        return vocab;
    }

    /**
     * merges.txt as transformers reads it: the whole text stripped, split on newlines, line 0 (the
     * {@code #version} header) skipped, at most {@link #MAX_MERGE_LINE} lines; rank = line index − 1, a repeated
     * pair keeps its last rank. Each line must hold exactly two symbols.
     *
     * @return rank by {@code first + " " + second}
     */
    static Map<String, Integer> readMerges(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": file not found");
        } catch (CharacterCodingException e) {
            throw new ConfigException(file + ": not valid UTF-8");
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
        return parseMerges(text, file.toString());
    }

    static Map<String, Integer> parseMerges(String text, String file) {
        String[] lines = text.strip().split("\n", -1);
        if (lines.length == 0 || !lines[0].startsWith("#version")) {
            throw new ConfigException(file + ": first line must be the '#version' header (transformers skips line 1)");
        }
        int end = Math.min(lines.length, MAX_MERGE_LINE);
        Map<String, Integer> ranks = new HashMap<>(end * 2);
        for (int i = 1; i < end; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) continue;
            String[] parts = line.split("\\s+");
            if (parts.length != 2) {
                throw new ConfigException(file + ": line " + (i + 1) + ": expected two symbols separated by a space, got '"
                        + abbreviate(line) + "'");
            }
            ranks.put(parts[0] + " " + parts[1], i - 1);
        }
        return ranks;
    }

    /** A special token's text: a string, or an object with a "content" field (AddedToken); null when absent. */
    static String specialToken(JsonNode root, String key, Path file) {
        if (root == null) return null;
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return null;
        if (v.isTextual()) return v.asText();
        if (v.isObject() && v.path("content").isTextual()) return v.get("content").asText();
        throw new ConfigException(file + ": '" + key + "' must be a string or an object with a string 'content', got " + v);
    }

    /** A JSON file that may be absent: null when it does not exist, parse errors still name the file. */
    static JsonNode readOptional(Path file) {
        if (!Files.exists(file)) return null;
        JsonNode root = Json.read(file);
        if (!root.isObject()) throw new ConfigException(file + ": expected a JSON object");
        return root;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
