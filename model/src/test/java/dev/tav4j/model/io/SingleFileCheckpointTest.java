package dev.tav4j.model.io;

import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.golden.GoldenData;
import dev.tav4j.model.text.ClipTokenizer;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.tav4j.model.io.StBytes.*;
import static org.junit.jupiter.api.Assertions.*;

/** Single-file (LDM layout) checkpoints: the same parameters as the diffusers folder, and the refusals. */
class SingleFileCheckpointTest {
    @TempDir Path tmp;

    private static Path folder() { return GoldenData.models().resolve("tiny-sd-a"); }

    private static Path ldm() { return GoldenData.models().resolve("tiny-sd-a.ldm.safetensors"); }

    /** Every parameter the folder has, loaded from the single file, bit for bit (diffusers' own conversion wrote the file). */
    @Test void goldenSingleFileLoadsEveryParameterOfTheFolderBitForBit() {
        CheckpointDir dir = CheckpointDir.open(folder());
        CheckpointDir one = CheckpointDir.open(ldm(), folder(), null);
        assertTrue(one.isSingleFile());
        for (String c : List.of("text_encoder", "vae", "unet")) {
            int n = 0;
            try (Weights a = dir.weights(c); Weights b = one.weights(c)) {
                assertEquals(a.names(), new java.util.LinkedHashSet<>(b.names().stream().filter(a.names()::contains).toList()), c + ": names");
                assertEquals(a.names().size(), b.names().size(), c + ": the single file maps to extra names: "
                        + b.names().stream().filter(x -> !a.names().contains(x)).toList());
                for (String name : a.names()) {
                    try (Tensor x = a.load(name); Tensor y = b.load(name, a.shape(name))) {
                        assertArrayEquals(x.shape(), y.shape(), c + " " + name);
                        float[] xa = x.toArray(), ya = y.toArray();
                        for (int i = 0; i < xa.length; i++)
                            if (Float.floatToRawIntBits(xa[i]) != Float.floatToRawIntBits(ya[i])) fail(c + " " + name + "[" + i + "]: " + xa[i] + " vs " + ya[i]);
                    }
                    n++;
                }
            }
            assertTrue(n > 10, c + ": compared " + n);
        }
        for (String c : List.of("unet", "vae", "text_encoder", "scheduler")) assertEquals(dir.config(c), one.config(c), c);
        assertEquals(dir.schedulerConfig().predictionType(), one.schedulerConfig().predictionType());
        assertEquals(dir.weightBytesF32("unet"), one.weightBytesF32("unet"));
    }

    /** The built-in CLIP BPE tokenizes as the golden folder's tokenizer. */
    @Test void builtinTokenizerEqualsTheFoldersAndPadsPerGeneration() {
        ClipTokenizer folder = ClipTokenizer.load(folder().resolve("tokenizer"));
        ClipTokenizer builtin = ClipTokenizer.builtin("<|endoftext|>");
        for (String p : List.of("a man is surfing", "A cat, wearing sunglasses!! on the beach at 3pm", "über naïve café 🙂"))
            assertArrayEquals(folder.encode(p), builtin.encode(p), p);
        int[] sd2 = ClipTokenizer.builtin("!").encode("a");
        assertEquals(0, sd2[76], "SD 2.x pads with '!' (id 0)");
    }

    @Test void predictionTypeOverrides() {
        assertEquals("v_prediction", CheckpointDir.open(ldm(), folder(), "v").schedulerConfig().predictionType());
        assertEquals("epsilon", CheckpointDir.open(ldm(), folder(), "epsilon").schedulerConfig().predictionType());
        var e = assertThrows(ConfigException.class, () -> CheckpointDir.open(ldm(), folder(), "x0"));
        assertTrue(e.getMessage().contains("epsilon or v"), e.getMessage());
    }

    @Test void unknownArchitectureWithoutConfigIsRefusedNamingWhatWasFound() {
        var e = assertThrows(ConfigException.class, () -> CheckpointDir.open(ldm()));
        assertTrue(e.getMessage().contains("not the standard SD 1.x or SD 2.x architecture") && e.getMessage().contains("UNet base channels 32")
                && e.getMessage().contains("--config"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test void contradictingOrIncompleteConfigIsRefused() throws IOException {
        Path cfg = tmp.resolve("cfg");
        for (String c : List.of("unet", "vae", "text_encoder", "scheduler")) {
            Files.createDirectories(cfg.resolve(c));
            String f = c.equals("scheduler") ? "scheduler_config.json" : "config.json";
            Files.copy(folder().resolve(c).resolve(f), cfg.resolve(c).resolve(f));
        }
        assertNotNull(CheckpointDir.open(ldm(), cfg, null).unetConfig());  // no tokenizer/: the built-in one
        Path u = cfg.resolve("unet/config.json");
        Files.writeString(u, Files.readString(u).replace("\"cross_attention_dim\": 32", "\"cross_attention_dim\": 768"));
        var e = assertThrows(ConfigException.class, () -> CheckpointDir.open(ldm(), cfg, null));
        assertTrue(e.getMessage().contains("contradicts the tensors") && e.getMessage().contains("cross_attention_dim 768 vs 32"), e.getMessage());
        Files.delete(cfg.resolve("vae/config.json"));
        e = assertThrows(ConfigException.class, () -> CheckpointDir.open(ldm(), cfg, null));
        assertTrue(e.getMessage().contains("no vae/config.json"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> CheckpointDir.open(ldm(), tmp.resolve("absent.yaml"), null));
        assertTrue(e.getMessage().contains("neither a config folder nor an LDM .yaml"), e.getMessage());
        // the standard SD 1.x YAML selects the built-in SD 1.5 configs, which contradict this tiny model
        Path yaml = Files.writeString(tmp.resolve("v1-inference.yaml"), """
                model:
                  params:
                    linear_start: 0.00085
                    linear_end: 0.0120
                    timesteps: 1000
                    unet_config:
                      params:
                        in_channels: 4
                        model_channels: 320
                        num_res_blocks: 2
                        context_dim: 768
                """);
        e = assertThrows(ConfigException.class, () -> CheckpointDir.open(ldm(), yaml, null));
        assertTrue(e.getMessage().contains("contradicts the tensors") && e.getMessage().contains("block_out_channels[0] 320 vs 32"), e.getMessage());
    }

    @Test void configOnlyForASingleFile() {
        var e = assertThrows(ConfigException.class, () -> CheckpointDir.open(folder(), folder(), null));
        assertTrue(e.getMessage().contains("only for a single-file checkpoint"), e.getMessage());
    }

    @Test void pickleIsRefusedWithTheConversionCommand() throws IOException {
        Path ckpt = Files.write(tmp.resolve("v1-5.ckpt"), new byte[]{(byte) 0x80, 2, 'c'});
        var e = assertThrows(ConfigException.class, () -> CheckpointDir.open(ckpt));
        assertTrue(e.getMessage().contains("never unpickles") && e.getMessage().contains("safetensors.torch") && e.getMessage().contains("v1-5.safetensors"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test void truncatedFileIsRefusedByTheReader() throws IOException {
        byte[] all = Files.readAllBytes(ldm());
        Path cut = Files.write(tmp.resolve("cut.safetensors"), Arrays.copyOf(all, all.length / 2));
        var e = assertThrows(SafeTensorsException.class, () -> CheckpointDir.open(cut, folder(), null));
        assertTrue(e.getMessage().contains("cut.safetensors"), e.getMessage());
    }

    /** The OpenCLIP tower: fused q/k/v split by rows, the last resblock and text_projection left out, F16 and BF16 read. */
    @Test void openClipFusedProjectionsSplitAndLastBlockUnused() throws IOException {
        int d = 4;
        Map<String, String> header = new LinkedHashMap<>();
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        float[] inProj = new float[3 * d * d];
        for (int i = 0; i < inProj.length; i++) inProj[i] = i;
        addF32(header, data, "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", inProj, 3 * d, d);
        addF32(header, data, "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_bias", Arrays.copyOf(inProj, 3 * d), 3 * d);
        addF32(header, data, "cond_stage_model.model.transformer.resblocks.1.ln_1.weight", new float[d], d);
        addF32(header, data, "cond_stage_model.model.text_projection", new float[d * d], d, d);
        addF32(header, data, "cond_stage_model.model.ln_final.weight", new float[d], d);
        // F16 1.5 = 0x3E00, BF16 1.5 = 0x3FC0
        int at = data.size();
        data.write(u16(0x3E00, 0x3E00, 0x3E00, 0x3E00));
        header.put("cond_stage_model.model.positional_embedding", entry("cond_stage_model.model.positional_embedding", "F16", "[1, 4]", at, data.size()));
        at = data.size();
        data.write(u16(0x3FC0, 0x3FC0, 0x3FC0, 0x3FC0));
        header.put("cond_stage_model.model.token_embedding.weight", entry("cond_stage_model.model.token_embedding.weight", "BF16", "[1, 4]", at, data.size()));
        addF32(header, data, "model_ema.decay", new float[1], 1);
        Path f = file(tmp.resolve("openclip.safetensors"), "{" + String.join(",", header.values()) + "}", data.toByteArray());
        try (SafeTensors st = SafeTensors.open(f);
             LdmWeights w = LdmWeights.open("text_encoder", f, s -> LdmWeights.openClipIndex(s, 1, d))) {
            assertFalse(w.names().stream().anyMatch(n -> n.contains("layers.1.")), "the last resblock is not used: " + w.names());
            assertFalse(w.names().stream().anyMatch(n -> n.contains("projection")), w.names().toString());
            String[] qkv = {"q_proj", "k_proj", "v_proj"};
            for (int p = 0; p < 3; p++) {
                try (Tensor t = w.load("text_model.encoder.layers.0.self_attn." + qkv[p] + ".weight", d, d);
                     Tensor b = w.load("text_model.encoder.layers.0.self_attn." + qkv[p] + ".bias", d)) {
                    assertEquals(p * d * d, t.get(0));
                    assertEquals(p * d * d + d * d - 1, t.get(d * d - 1));
                    assertEquals(p * d, b.get(0));
                }
            }
            try (Tensor pos = w.load("text_model.embeddings.position_embedding.weight"); Tensor tok = w.load("text_model.embeddings.token_embedding.weight")) {
                assertEquals(1.5f, pos.get(3));
                assertEquals(1.5f, tok.get(3));
            }
            String note = SingleFileCheckpoint.ignoredNote(st);
            assertTrue(note.contains("ignored 1 tensors") && note.contains("model_ema.*=1") && !note.contains("\n"), note);
        }
    }

    private static void addF32(Map<String, String> header, java.io.ByteArrayOutputStream data, String name, float[] v, int... shape) throws IOException {
        int at = data.size();
        data.write(f32(v));
        header.put(name, entry(name, "F32", Arrays.toString(shape), at, data.size()));
    }
}
