package dev.tav4j.model.io;

import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.golden.GoldenData;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.tav4j.model.io.StBytes.*;
import static org.junit.jupiter.api.Assertions.*;

class CheckpointDirTest {
    @TempDir Path tmp;

    private Path checkpoint() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("ckpt"));
        Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\":\"StableDiffusionPipeline\",\"unet\":[\"diffusers\",\"UNet2DConditionModel\"],\"vae\":[\"diffusers\",\"AutoencoderKL\"]}");
        return dir;
    }

    private static Path weightsFile(Path folder, String file, String name, float value) throws IOException {
        Files.createDirectories(folder);
        return StBytes.file(folder.resolve(file), "{" + entry(name, "F32", "[1]", 0, 4) + "}", f32(value));
    }

    private static float value(Weights w, String name) {
        try (Tensor t = w.load(name, 1)) { return t.get(0); }
    }

    @Test
    void folderWithoutModelIndexSaysWhatACheckpointLooksLike() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("plain"));
        ConfigException e = assertThrows(ConfigException.class, () -> CheckpointDir.open(dir));
        String m = e.getMessage();
        assertTrue(m.contains(dir.toString()) && m.contains("no model_index.json") && m.contains("unet/") && m.contains("text_encoder/"), m);
    }

    @Test
    void componentFolderGivenInsteadOfTheCheckpointGetsAHint() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("unet"));
        Files.writeString(dir.resolve("config.json"), "{}");
        ConfigException e = assertThrows(ConfigException.class, () -> CheckpointDir.open(dir));
        assertTrue(e.getMessage().contains("single component folder"), e.getMessage());
    }

    @Test
    void fileOrMissingPathIsRefused() throws IOException {
        Path ckpt = Files.writeString(tmp.resolve("sd.ckpt"), "pickle");
        ConfigException e = assertThrows(ConfigException.class, () -> CheckpointDir.open(ckpt));
        assertTrue(e.getMessage().contains("never unpickles") && e.getMessage().contains("sd.safetensors"), e.getMessage());  // a single .safetensors is read as is
        ConfigException n = assertThrows(ConfigException.class, () -> CheckpointDir.open(tmp.resolve("absent")));
        assertTrue(n.getMessage().contains("not found") && n.getMessage().contains("absent"), n.getMessage());
    }

    @Test
    void binOnlyComponentSaysHowToConvert() throws IOException {
        Path dir = checkpoint();
        Files.createDirectories(dir.resolve("unet"));
        Files.writeString(dir.resolve("unet/diffusion_pytorch_model.bin"), "pickle");
        ConfigException e = assertThrows(ConfigException.class, () -> CheckpointDir.open(dir).weights("unet"));
        String m = e.getMessage();
        assertTrue(m.contains(dir.resolve("unet").toString()) && m.contains("diffusion_pytorch_model.bin"), m);
        assertTrue(m.contains("save_pretrained('OUT', safe_serialization=True)") && m.contains("from_pretrained('" + dir + "')"), m);
    }

    @Test
    void emptyComponentAndMissingComponentAreNamed() throws IOException {
        Path dir = checkpoint();
        Files.createDirectories(dir.resolve("vae"));
        CheckpointDir c = CheckpointDir.open(dir);
        ConfigException e = assertThrows(ConfigException.class, () -> c.weights("vae"));
        assertTrue(e.getMessage().contains("no weights found") && e.getMessage().contains(dir.resolve("vae").toString()), e.getMessage());
        ConfigException m = assertThrows(ConfigException.class, () -> c.component("text_encoder"));
        assertTrue(m.getMessage().contains("'text_encoder/'") && m.getMessage().contains("unet"), m.getMessage());
    }

    @Test
    void singleFileBeatsShardsWhichBeatFp16() throws IOException {
        Path dir = checkpoint();
        Path unet = dir.resolve("unet");
        weightsFile(unet, "diffusion_pytorch_model.fp16.safetensors", "w", 16);
        CheckpointDir c = CheckpointDir.open(dir);
        try (Weights w = c.weights("unet")) { assertEquals(16f, value(w, "w")); }

        weightsFile(unet, "diffusion_pytorch_model-00001-of-00002.safetensors", "w", 1);
        weightsFile(unet, "diffusion_pytorch_model-00002-of-00002.safetensors", "v", 2);
        Files.writeString(unet.resolve("diffusion_pytorch_model.safetensors.index.json"),
                "{\"metadata\":{},\"weight_map\":{\"w\":\"diffusion_pytorch_model-00001-of-00002.safetensors\",\"v\":\"diffusion_pytorch_model-00002-of-00002.safetensors\"}}");
        try (Weights w = c.weights("unet")) {
            assertEquals(List.of("w", "v"), List.copyOf(w.names()));
            assertEquals(1f, value(w, "w"));
            assertEquals(2f, value(w, "v"));
        }

        weightsFile(unet, "diffusion_pytorch_model.safetensors", "w", 32);
        try (Weights w = c.weights("unet")) {
            assertEquals(32f, value(w, "w"));
            assertEquals(List.of("w"), List.copyOf(w.names()));
        }
    }

    @Test
    void textEncoderUsesModelSafetensorsAndIndexWithAMissingShardIsNamed() throws IOException {
        Path dir = checkpoint();
        Path te = dir.resolve("text_encoder");
        weightsFile(te, "model.safetensors", "text_model.final_layer_norm.weight", 3);
        try (Weights w = CheckpointDir.open(dir).weights("text_encoder")) {
            assertEquals("text_encoder", w.component());
            assertEquals(3f, value(w, "text_model.final_layer_norm.weight"));
        }
        Path vae = dir.resolve("vae");
        Files.createDirectories(vae);
        Files.writeString(vae.resolve("diffusion_pytorch_model.safetensors.index.json"), "{\"weight_map\":{\"a\":\"part-1.safetensors\"}}");
        ConfigException e = assertThrows(ConfigException.class, () -> CheckpointDir.open(dir).weights("vae"));
        assertTrue(e.getMessage().contains("part-1.safetensors") && e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void schedulerConfigComesFromSchedulerConfigJson() throws IOException {
        Path dir = checkpoint();
        Files.createDirectories(dir.resolve("scheduler"));
        Files.writeString(dir.resolve("scheduler/scheduler_config.json"),
                "{\"_class_name\":\"PNDMScheduler\",\"beta_start\":0.00085,\"beta_end\":0.012,\"beta_schedule\":\"scaled_linear\",\"set_alpha_to_one\":false,\"steps_offset\":1}");
        CheckpointDir c = CheckpointDir.open(dir);
        assertEquals("PNDMScheduler", c.config("scheduler").get("_class_name").asText());
        assertEquals(0.012, c.schedulerConfig().betaEnd());
        assertEquals(1, c.schedulerConfig().stepsOffset());
    }

    @Test
    void unetFolderAcceptsTheFolderOrItsParent() throws IOException {
        Path tuned = tmp.resolve("tuned");
        Path unet = tuned.resolve("unet");
        weightsFile(unet, "diffusion_pytorch_model.safetensors", "conv_in.bias", 4);
        Files.writeString(unet.resolve("config.json"), "{}");
        for (Path p : List.of(tuned, unet)) {
            assertEquals(unet.toAbsolutePath(), CheckpointDir.unetFolderPath(p));
            try (Weights w = CheckpointDir.unetFolder(p)) { assertEquals(4f, value(w, "conv_in.bias")); }
        }
        ConfigException e = assertThrows(ConfigException.class, () -> CheckpointDir.unetFolder(tmp));
        assertTrue(e.getMessage().contains(tmp.toString()) && e.getMessage().contains("config.json"), e.getMessage());
    }

    @Test
    void goldenCheckpointParsesAndLoads() {
        Path models = GoldenData.models();
        CheckpointDir c = CheckpointDir.open(models.resolve("tiny-sd-a"));
        UNetConfig u = c.unetConfig();
        assertFalse(u.is3D());
        assertEquals(4, u.inChannels());
        assertEquals(4, c.vaeConfig().latentChannels());
        assertTrue(c.textConfig().hiddenSize() > 0);
        assertEquals("scaled_linear", c.schedulerConfig().betaSchedule());
        assertTrue(Files.isRegularFile(c.tokenizerDir().resolve("vocab.json")));
        for (String comp : List.of("unet", "vae", "text_encoder")) {
            try (Weights w = c.weights(comp)) {
                assertFalse(w.names().isEmpty(), comp);
                for (String n : w.names()) try (Tensor t = w.load(n, w.shape(n))) { assertTrue(t.size() > 0, n); }
            }
        }
        try (Weights vae = c.weights("vae")) {
            String q = "encoder.mid_block.attentions.0.query.weight";
            assertTrue(vae.has(q) && vae.has("encoder.mid_block.attentions.0.to_q.weight"));
            assertArrayEquals(vae.shape(q), vae.shape("encoder.mid_block.attentions.0.to_q.weight"));
        }
        Path tuned = models.resolve("tiny-tuned-a");
        assertTrue(CheckpointDir.unetFolderConfig(tuned).is3D());
        try (Weights w = CheckpointDir.unetFolder(tuned)) {
            assertTrue(w.names().stream().anyMatch(n -> n.contains("attn_temp")), "tuned UNet has temporal layers");
        }
    }
}
