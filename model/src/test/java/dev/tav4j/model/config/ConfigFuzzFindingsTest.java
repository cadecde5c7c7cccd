package dev.tav4j.model.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inputs ConfigJsonFuzzTest found (minimized): a zero or non-numeric head or group count was divided by and
 * surfaced as "java.lang.ArithmeticException: / by zero" instead of a ConfigException naming the file and key.
 */
class ConfigFuzzFindingsTest {
    @TempDir Path tmp;

    private static final String ONE_BLOCK =
            "\"block_out_channels\":[32],\"down_block_types\":[\"DownBlock2D\"],\"up_block_types\":[\"UpBlock2D\"]";

    private void refused(BiFunction<com.fasterxml.jackson.databind.JsonNode, String, ?> parser, String json, String key) throws Exception {
        Path file = Files.writeString(tmp.resolve("config.json"), json);
        ConfigException e = assertThrows(ConfigException.class, () -> parser.apply(Json.read(file), file.toString()));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(key), e.getMessage());
    }

    @Test
    void unetZeroOrTextHeadCount() throws Exception {
        refused(UNetConfig::parse, "{" + ONE_BLOCK + ",\"attention_head_dim\":0}", "attention_head_dim");
        refused(UNetConfig::parse, "{" + ONE_BLOCK + ",\"attention_head_dim\":[\"eight\"]}", "attention_head_dim");
        refused(UNetConfig::parse, "{" + ONE_BLOCK + ",\"attention_head_dim\":-8}", "attention_head_dim");
    }

    @Test
    void unetZeroGroupCount() throws Exception {
        refused(UNetConfig::parse, "{" + ONE_BLOCK + ",\"norm_num_groups\":0}", "norm_num_groups");
        refused(UNetConfig::parse, "{" + ONE_BLOCK + ",\"norm_num_groups\":\"thirty-two\"}", "norm_num_groups");
    }

    @Test
    void textEncoderZeroHeadCount() throws Exception {
        refused(ClipTextConfig::parse, "{\"hidden_size\":32,\"num_attention_heads\":0}", "num_attention_heads");
        refused(ClipTextConfig::parse, "{\"hidden_size\":32,\"num_attention_heads\":\"four\"}", "num_attention_heads");
    }
}
