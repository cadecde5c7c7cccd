package dev.tav4j.model.pipeline;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.clip.ClipTextEncoder;
import dev.tav4j.model.config.ClipTextConfig;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.config.VaeConfig;
import dev.tav4j.model.text.ClipTokenizer;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.runtime.Ops;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A small Stable-Diffusion-shaped model built deterministically in the process (random weights, a byte-level
 * CLIP vocabulary), so that the whole method runs with no download. It is a smoke-test model: its edits are
 * not meaningful images. Real results need a real checkpoint (see the README).
 */
public final class SmokeTestModel {
    private SmokeTestModel() {}

    public static UNetConfig unetConfig() {
        return new UNetConfig("UNet2DConditionModel", 4, 4, new int[]{32, 64, 64, 64}, 2, 8, 1e-5f, 32, new int[]{4, 4, 4, 4}, false,
                List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), true, 0, 1, false, 16, null);
    }

    public static VaeConfig vaeConfig() {
        return new VaeConfig(3, 3, new int[]{16, 32, 32, 32}, 1, 4, 8, 128, 0.18215f);
    }

    /** The text encoder: 2 layers of width 32 over the byte-level vocabulary. */
    public static ClipTextConfig textConfig() {
        return new ClipTextConfig(32, 128, 4, 2, 77, 256 * 2 + 2, "quick_gelu", 1e-5f);
    }

    /** Builds the pipeline on {@code ops}; {@code workDir} receives the generated tokenizer files. */
    public static TuneAVideoPipeline build(Ops ops, Path workDir, long seed) {
        Path tokDir = writeByteTokenizer(workDir.resolve("smoke-tokenizer"));
        ClipTokenizer tok = ClipTokenizer.load(tokDir);
        ClipTextEncoder enc = new ClipTextEncoder(ops, textConfig(), new RandomWeights("text_encoder", seed));
        Vae vae = new Vae(ops, vaeConfig(), new RandomWeights("vae", seed + 1));
        UNet3D unet = UNetLoader.build(ops, unetConfig(), new RandomWeights("unet", seed + 2), null, seed + 3);
        return new TuneAVideoPipeline(ops, tok, enc, vae, unet, SchedulerConfig.defaults());
    }

    /** A CLIP tokenizer folder whose vocabulary is the 256 byte symbols, with and without "</w>", and no merges. */
    static Path writeByteTokenizer(Path dir) {
        try {
            Files.createDirectories(dir);
            ObjectNode vocab = Json.MAPPER.createObjectNode();
            List<String> symbols = ByteSymbols.all();
            int id = 0;
            for (String s : symbols) vocab.put(s, id++);
            for (String s : symbols) vocab.put(s + "</w>", id++);
            vocab.put("<|startoftext|>", id++);
            vocab.put("<|endoftext|>", id);
            Files.writeString(dir.resolve("vocab.json"), Json.MAPPER.writeValueAsString(vocab), StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n", StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("special_tokens_map.json"),
                    "{\"bos_token\": \"<|startoftext|>\", \"eos_token\": \"<|endoftext|>\", \"unk_token\": \"<|endoftext|>\", \"pad_token\": \"<|endoftext|>\"}");
            Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 77}");
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the smoke-test tokenizer to " + dir, e);
        }
    }

    /** GPT-2's byte → printable-unicode table, the base alphabet of every CLIP vocabulary. */
    static final class ByteSymbols {
        static List<String> all() {
            java.util.List<String> out = new java.util.ArrayList<>();
            int extra = 0;
            for (int b = 0; b < 256; b++) {
                boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                out.add(Character.toString(printable ? b : 256 + extra++));
            }
            return out;
        }
    }
}
