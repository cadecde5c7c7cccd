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
