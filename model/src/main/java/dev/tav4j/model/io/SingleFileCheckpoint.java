package dev.tav4j.model.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.config.VaeConfig;
import dev.tav4j.model.config.ClipTextConfig;
import dev.tav4j.model.text.ClipTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A single-file Stable Diffusion checkpoint in the original LDM layout ({@code model.diffusion_model.*},
 * {@code first_stage_model.*}, {@code cond_stage_model.transformer.*} or {@code cond_stage_model.model.*}) with the
 * configs that say its architecture: a diffusers-like config folder, an LDM inference YAML, or, for the real SD 1.x
 * and SD 2.x shapes recognised from the tensors, the built-in configs of SD 1.5 and SD 2.1. See docs/formats.md.
 */
final class SingleFileCheckpoint {
    /** Components' config files inside a config folder, as in a diffusers checkpoint. */
    static final String CONFIG_LAYOUT = "a config folder is laid out like a diffusers checkpoint: unet/config.json, vae/config.json, "
            + "text_encoder/config.json, scheduler/scheduler_config.json and optionally tokenizer/";
    private static final String BUILTIN = "builtin/";

    final Path file;
    private final Map<String, JsonNode> configs;
    private final Map<String, String> where;
    private final boolean openClip;
    private final Path tokenizerDir;
    private final String note;

    private SingleFileCheckpoint(Path file, Map<String, JsonNode> configs, Map<String, String> where, boolean openClip,
                                 Path tokenizerDir, String note) {
        this.file = file;
        this.configs = configs;
        this.where = where;
        this.openClip = openClip;
        this.tokenizerDir = tokenizerDir;
        this.note = note;
    }

    /** What the tensors say about the architecture; -1 / null where the file has no such tensor. */
    record Found(int unetBase, int unetIn, int context, Boolean linear, String text, int textWidth, int textBlocks, int vaeBase) {
        @Override public String toString() {
            return "UNet base channels " + unetBase + ", input channels " + unetIn + ", context " + context + ", "
                    + (linear == null ? "no" : linear ? "linear" : "conv") + " projections; text tower "
                    + (text == null ? "none" : text + " (width " + textWidth + ", " + textBlocks + " blocks)") + "; VAE base channels " + vaeBase;
        }

        String builtin() {
            if (unetBase == 320 && unetIn == 4 && vaeBase == 128 && textWidth == context) {
                if (context == 768 && Boolean.FALSE.equals(linear) && LdmNames.CLIP.equals(text)) return "sd15";
                if (context == 1024 && Boolean.TRUE.equals(linear) && LdmNames.OPEN_CLIP.equals(text)) return "sd21";
            }
            return null;
        }
    }

    static Found inspect(SafeTensors st) {
        int base = -1, in = -1, ctx = -1, width = -1, vae = -1;
        Boolean linear = null;
        String text = null;
        java.util.Set<Integer> blocks = new java.util.TreeSet<>();
        for (String k : st.names()) {
            long[] s = st.info(k).shape();
            if (k.equals(LdmNames.UNET + "input_blocks.0.0.weight") && s.length == 4) { base = (int) s[0]; in = (int) s[1]; }
            else if (k.startsWith(LdmNames.UNET) && k.endsWith(".attn2.to_k.weight") && ctx < 0 && s.length == 2) ctx = (int) s[1];
            else if (k.startsWith(LdmNames.UNET) && k.endsWith(".proj_in.weight") && linear == null) linear = s.length == 2;
            else if (k.equals(LdmNames.VAE + "encoder.conv_in.weight")) vae = (int) s[0];
            else if (k.startsWith(LdmNames.CLIP)) {
                text = LdmNames.CLIP;
                if (k.endsWith("token_embedding.weight")) width = (int) s[1];
                int i = k.indexOf("encoder.layers.");
                if (i >= 0) blocks.add(Integer.parseInt(k.substring(i + 15).split("\\.")[0]));
            } else if (k.startsWith(LdmNames.OPEN_CLIP)) {
                text = LdmNames.OPEN_CLIP;
                if (k.endsWith("token_embedding.weight")) width = (int) s[1];
                int l = LdmNames.openClipLayer(k.substring(LdmNames.OPEN_CLIP.length()));
                if (l >= 0) blocks.add(l);
            }
        }
        return new Found(base, in, ctx, linear, text, width, blocks.size(), vae);
    }

    /**
     * Opens {@code file} with {@code config} (a config folder, an LDM YAML, or null: recognise SD 1.x / 2.x) and
     * {@code predictionType} ("epsilon", "v", or null: the config's).
     */
    static SingleFileCheckpoint open(Path file, Path config, String predictionType) {
        Found found;
        String note;
        try (SafeTensors st = SafeTensors.open(file)) {
            found = inspect(st);
            note = ignoredNote(st);
        }
        if (found.unetBase < 0 || found.vaeBase < 0 || found.text == null)
            throw new ConfigException(file + ": not a Stable Diffusion checkpoint in the LDM layout: it lacks "
                    + (found.unetBase < 0 ? "model.diffusion_model.input_blocks.0.0.weight (the UNet)" : found.vaeBase < 0
                    ? "first_stage_model.encoder.conv_in.weight (the VAE)" : "cond_stage_model.transformer.* or cond_stage_model.model.* (the text encoder)"));
        Map<String, JsonNode> configs = new TreeMap<>();
        Map<String, String> where = new TreeMap<>();
        Path tokenizer = null;
        if (config == null) {
            String b = found.builtin();
            if (b == null)
                throw new ConfigException(file + ": not the standard SD 1.x or SD 2.x architecture (found " + found
                        + "); give --config with its diffusers config folder or LDM YAML");
            builtin(b, configs, where);
        } else if (Files.isDirectory(config)) {
            for (String c : new String[]{"unet", "vae", "text_encoder", "scheduler"}) {
                Path f = config.resolve(c).resolve(c.equals("scheduler") ? "scheduler_config.json" : "config.json");
                if (!Files.isRegularFile(f)) throw new ConfigException("--config " + config + ": no " + config.relativize(f) + "; " + CONFIG_LAYOUT);
                configs.put(c, Json.read(f));
                where.put(c, f.toString());
            }
            if (Files.isDirectory(config.resolve("tokenizer"))) tokenizer = config.resolve("tokenizer");
        } else if (Files.isRegularFile(config) && config.toString().matches(".*\\.ya?ml$")) {
            LdmYaml.apply(config, found, configs, where);
        } else {
            throw new ConfigException("--config " + config + ": neither a config folder nor an LDM .yaml file; " + CONFIG_LAYOUT);
        }
        if (predictionType != null) {
            String p = switch (predictionType) {
                case "epsilon" -> "epsilon";
                case "v", "v_prediction" -> "v_prediction";
                default -> throw new ConfigException("--prediction-type " + predictionType + ": expected epsilon or v");
            };
            ObjectNode s = configs.get("scheduler").deepCopy();
            s.put("prediction_type", p);
            configs.put("scheduler", s);
            where.put("scheduler", where.get("scheduler") + " (prediction type from --prediction-type)");
        }
        SingleFileCheckpoint ck = new SingleFileCheckpoint(file, configs, where, LdmNames.OPEN_CLIP.equals(found.text), tokenizer, note);
        ck.requireMatches(found, config);
        return ck;
    }

    /** A config that contradicts the tensors is refused naming both. */
    private void requireMatches(Found f, Path config) {
        UNetConfig u = unetConfig();
        VaeConfig v = vaeConfig();
        ClipTextConfig t = textConfig();
        List<String> bad = new ArrayList<>();
        if (u.blockOutChannels()[0] != f.unetBase) bad.add("UNet block_out_channels[0] " + u.blockOutChannels()[0] + " vs " + f.unetBase + " in the file");
        if (u.inChannels() != f.unetIn) bad.add("UNet in_channels " + u.inChannels() + " vs " + f.unetIn);
        if (f.context > 0 && u.crossAttentionDim() != f.context) bad.add("UNet cross_attention_dim " + u.crossAttentionDim() + " vs " + f.context);
        if (f.linear != null && u.useLinearProjection() != f.linear) bad.add("UNet use_linear_projection " + u.useLinearProjection() + " vs " + (f.linear ? "linear" : "conv") + " projections");
        if (v.blockOutChannels()[0] != f.vaeBase) bad.add("VAE block_out_channels[0] " + v.blockOutChannels()[0] + " vs " + f.vaeBase);
        if (t.hiddenSize() != f.textWidth) bad.add("text encoder hidden_size " + t.hiddenSize() + " vs " + f.textWidth);
        if (t.layers() > f.textBlocks) bad.add("text encoder num_hidden_layers " + t.layers() + " vs " + f.textBlocks + " blocks");
        if (!bad.isEmpty())
            throw new ConfigException(file + ": the config " + (config == null ? "(built-in)" : config.toString()) + " contradicts the tensors: " + String.join("; ", bad));
    }

    /** One line naming the keys outside the three components (EMA weights, training state), or null. */
    static String ignoredNote(SafeTensors st) {
        Map<String, Integer> groups = new TreeMap<>();
        for (String k : st.names()) {
            if (k.startsWith(LdmNames.UNET) || k.startsWith(LdmNames.VAE) || k.startsWith(LdmNames.CLIP) || k.startsWith(LdmNames.OPEN_CLIP)) continue;
            int dot = k.indexOf('.');
            groups.merge(dot < 0 ? k : k.substring(0, dot) + ".*", 1, Integer::sum);
        }
        if (groups.isEmpty()) return null;
        int n = groups.values().stream().mapToInt(Integer::intValue).sum();
        return st.path() + ": ignored " + n + " tensors outside the UNet, VAE and text encoder: " + groups;
    }

    static void builtin(String name, Map<String, JsonNode> configs, Map<String, String> where) {
        for (String c : new String[]{"unet", "vae", "text_encoder", "scheduler"}) {
            String res = BUILTIN + name + "/" + c + "/" + (c.equals("scheduler") ? "scheduler_config.json" : "config.json");
            try (InputStream in = SingleFileCheckpoint.class.getResourceAsStream(res)) {
                if (in == null) throw new ConfigException("built-in config " + res + " missing from the jar");
                configs.put(c, Json.MAPPER.readTree(in));
            } catch (IOException e) {
                throw new ConfigException("built-in config " + res + ": " + e.getMessage());
            }
            where.put(c, "built-in " + (name.equals("sd15") ? "SD 1.5" : "SD 2.1") + " " + c + " config");
        }
    }

    /** The note about ignored tensors, or null. */
    String note() { return note; }

    JsonNode config(String component) {
        JsonNode n = configs.get(component);
        if (n == null) throw new ConfigException(file + ": a single-file checkpoint has no component '" + component + "'");
        return n;
    }

    String where(String component) { return where.getOrDefault(component, file.toString()); }

    UNetConfig unetConfig() { return UNetConfig.parse(config("unet"), where("unet")); }

    VaeConfig vaeConfig() { return VaeConfig.parse(config("vae"), where("vae")); }

    ClipTextConfig textConfig() { return ClipTextConfig.parse(config("text_encoder"), where("text_encoder")); }

    /** The config folder's tokenizer when it has vocab.json; else CLIP's built-in BPE with the pad token of its generation. */
    ClipTokenizer tokenizer() {
        if (tokenizerDir != null && Files.isRegularFile(tokenizerDir.resolve("vocab.json"))) return ClipTokenizer.load(tokenizerDir);
        return ClipTokenizer.builtin(openClip ? "!" : "<|endoftext|>");
    }

    /** The component's weights under diffusers names. */
    Weights weights(String component) {
        return switch (component) {
            case "unet" -> {
                int lpb = unetConfig().layersPerBlock();
                yield LdmWeights.open("unet", file, st -> LdmWeights.unetIndex(st, lpb));
            }
            case "vae" -> {
                int up = vaeConfig().blockOutChannels().length;
                yield VaeNames.wrap(LdmWeights.open("vae", file, st -> LdmWeights.vaeIndex(st, up)));
            }
            case "text_encoder" -> {
                ClipTextConfig t = textConfig();
                yield openClip ? LdmWeights.open("text_encoder", file, st -> LdmWeights.openClipIndex(st, t.layers(), t.hiddenSize()))
                        : LdmWeights.open("text_encoder", file, LdmWeights::clipIndex);
            }
            default -> throw new ConfigException(file + ": a single-file checkpoint has no weights for '" + component + "'");
        };
    }
}
