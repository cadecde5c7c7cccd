package dev.tav4j.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.config.Json;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;

/** OpenAI CLIP's BPE files shipped gzipped in the jar (MIT-licensed; see clip-bpe/README.md beside them). */
final class BuiltinBpe {
    private static final String DIR = "clip-bpe/";

    private BuiltinBpe() {}

    static String where(String name) { return "built-in CLIP " + name; }

    static String text(String name) {
        try (InputStream raw = BuiltinBpe.class.getResourceAsStream(DIR + name + ".gz")) {
            if (raw == null) throw new ConfigException(where(name) + ": missing from the jar");
            try (InputStream in = new GZIPInputStream(raw)) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new ConfigException(where(name) + ": cannot read: " + e.getMessage());
        }
    }

    static JsonNode json(String name) {
        try {
            return Json.MAPPER.readTree(text(name));
        } catch (IOException e) {
            throw new ConfigException(where(name) + ": " + e.getMessage());
        }
    }
}
