package dev.tav4j.model.config;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.fuzz.Fuzzing;

import java.nio.file.Path;
import java.util.function.BiFunction;

/**
 * Fuzzes the checkpoint config readers on one arbitrary file: {@link Json#read}, then each of the UNet, VAE, text
 * encoder and scheduler parsers on what it read (each parser ignores the keys of the others, so one corpus serves
 * all four). Contract: {@link ConfigException} naming the file, nothing else.
 * Seeds: {@code ConfigJsonFuzzTestInputs/parse} (the golden tiny checkpoint's config files and broken variants).
 */
class ConfigJsonFuzzTest {

    @FuzzTest
    void parse(byte[] data) {
        Path file = Fuzzing.file("config.json", data);
        JsonNode root;
        try {
            root = Json.read(file);
        } catch (ConfigException e) {
            Fuzzing.requireNamesFile(e, file);
            return;
        }
        check(UNetConfig::parse, root, file);
        check(VaeConfig::parse, root, file);
        check(ClipTextConfig::parse, root, file);
        check(SchedulerConfig::parse, root, file);
    }

    private static void check(BiFunction<JsonNode, String, ?> parser, JsonNode root, Path file) {
        try {
            parser.apply(root, file.toString());
        } catch (ConfigException e) {
            Fuzzing.requireNamesFile(e, file);
        }
    }
}
