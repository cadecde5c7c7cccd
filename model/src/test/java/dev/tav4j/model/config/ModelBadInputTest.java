package dev.tav4j.model.config;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.golden.GoldenData;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.WeightShapeException;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Configs and weights that do not fit: errors name the file, the field or the tensor. */
class ModelBadInputTest {
    private final Ops ops = Backends.select("cpu");

    private static ObjectNode unetJson() throws Exception {
        return (ObjectNode) Json.MAPPER.readTree(Files.readString(GoldenData.models().resolve("tiny-sd-a/unet/config.json")));
    }

    @Test
    void unknownBlockTypeIsNamed() throws Exception {
        ObjectNode n = unetJson();
        ((ArrayNode) n.get("down_block_types")).set(1, "AttnDownBlock2D");
        ConfigException e = assertThrows(ConfigException.class, () -> UNetConfig.parse(n, "unet/config.json"));
        assertTrue(e.getMessage().contains("unet/config.json") && e.getMessage().contains("AttnDownBlock2D"), e.getMessage());
    }

    @Test
    void unknownArchitectureIsNamed() throws Exception {
        ObjectNode n = unetJson();
        n.put("_class_name", "UNet2DModel");
        ConfigException e = assertThrows(ConfigException.class, () -> UNetConfig.parse(n, "unet/config.json"));
        assertTrue(e.getMessage().contains("UNet2DModel"), e.getMessage());
    }

    @Test
    void channelsNotDivisibleByGroupsAreRejected() throws Exception {
        ObjectNode n = unetJson();
        n.put("norm_num_groups", 7);
        ConfigException e = assertThrows(ConfigException.class, () -> UNetConfig.parse(n, "unet/config.json"));
        assertTrue(e.getMessage().contains("norm_num_groups"), e.getMessage());
    }

    /** A value of the wrong JSON type names the file, the key, the expected and the found type (not 0 or "/ by zero"). */
    @Test
    void wrongJsonTypesNameFileKeyExpectedAndFound() throws Exception {
        ObjectNode layers = unetJson();
        layers.put("layers_per_block", "two");
        assertConfigError(() -> UNetConfig.parse(layers, "unet/config.json"), "unet/config.json", "'layers_per_block'", "an integer", "a string (\"two\")");
        ObjectNode heads = unetJson();
        heads.put("attention_head_dim", "8");
        assertConfigError(() -> UNetConfig.parse(heads, "unet/config.json"), "'attention_head_dim'", "an integer", "a string");
        ObjectNode groups = unetJson();
        groups.put("norm_num_groups", "8");
        assertConfigError(() -> UNetConfig.parse(groups, "unet/config.json"), "'norm_num_groups'", "an integer", "a string");
        ObjectNode channels = unetJson();
        channels.put("block_out_channels", 32);
        assertConfigError(() -> UNetConfig.parse(channels, "unet/config.json"), "'block_out_channels'", "a list of integers", "an integer (32)");
        ObjectNode zero = unetJson();
        zero.put("attention_head_dim", 0);
        assertConfigError(() -> UNetConfig.parse(zero, "unet/config.json"), "'attention_head_dim'", "at least 1");
        ObjectNode text = (ObjectNode) Json.MAPPER.readTree(Files.readString(GoldenData.models().resolve("tiny-sd-a/text_encoder/config.json")));
        text.put("num_attention_heads", "4");
        assertConfigError(() -> ClipTextConfig.parse(text, "text_encoder/config.json"), "text_encoder/config.json", "'num_attention_heads'", "a string");
        ObjectNode vae = (ObjectNode) Json.MAPPER.readTree(Files.readString(GoldenData.models().resolve("tiny-sd-a/vae/config.json")));
        vae.put("scaling_factor", "0.18");
        assertConfigError(() -> VaeConfig.parse(vae, "vae/config.json"), "'scaling_factor'", "a number", "a string");
        ObjectNode sched = (ObjectNode) Json.MAPPER.readTree(Files.readString(GoldenData.models().resolve("tiny-sd-a/scheduler/scheduler_config.json")));
        sched.put("set_alpha_to_one", "no");
        assertConfigError(() -> SchedulerConfig.parse(sched, "scheduler_config.json"), "'set_alpha_to_one'", "true or false", "a string");
    }

    @Test
    void invalidJsonSaysLineAndColumnWithoutJacksonSourceNote(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("config.json"), "{\n  \"a\": 1,\n  \"b\": }\n");
        ConfigException e = assertThrows(ConfigException.class, () -> Json.read(f));
        assertTrue(e.getMessage().contains("line 3"), e.getMessage());
        assertTrue(!e.getMessage().contains("Source") && !e.getMessage().contains("REDACTED") && !e.getMessage().contains("\n"), e.getMessage());
    }

    private static void assertConfigError(org.junit.jupiter.api.function.Executable parse, String... parts) {
        ConfigException e = assertThrows(ConfigException.class, parse);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "names " + p + ": " + e.getMessage());
    }

    @Test
    void weightShapeNotMatchingTheConfigNamesTheTensor() {
        CheckpointDir ckpt = CheckpointDir.open(GoldenData.models().resolve("tiny-sd-a"));
        VaeConfig real = ckpt.vaeConfig();
        VaeConfig wrong = new VaeConfig(3, 3, new int[]{24, 32, 32, 32}, real.layersPerBlock(), 4, 8, 128, 0.18215f);
        try (var w = ckpt.weights("vae")) {
            WeightShapeException e = assertThrows(WeightShapeException.class, () -> new Vae(ops, wrong, w));
            assertTrue(e.getMessage().contains("encoder.conv_in.weight"), e.getMessage());
        }
    }

    @Test
    void tunedUnetThatDoesNotMatchTheBaseIsRefused(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("base");
        Files.createDirectories(base.resolve("unet"));
        Path golden = GoldenData.models().resolve("tiny-sd-a");
        for (String f : new String[]{"model_index.json"}) Files.copy(golden.resolve(f), base.resolve(f));
        ObjectNode n = unetJson();
        ((ArrayNode) n.get("block_out_channels")).set(0, 16);
        Files.writeString(base.resolve("unet/config.json"), n.toString());
        Files.createSymbolicLink(base.resolve("unet/diffusion_pytorch_model.safetensors"), golden.resolve("unet/diffusion_pytorch_model.safetensors"));
        CheckpointDir ckpt = CheckpointDir.open(base);
        ConfigException e = assertThrows(ConfigException.class,
                () -> UNetLoader.load(ops, ckpt, GoldenData.models().resolve("tiny-tuned-a"), null, 0));
        assertTrue(e.getMessage().contains("does not match the base checkpoint"), e.getMessage());
    }
}
