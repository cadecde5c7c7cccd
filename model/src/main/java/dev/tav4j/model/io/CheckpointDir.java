package dev.tav4j.model.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.ClipTextConfig;
import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.config.VaeConfig;
import dev.tav4j.runtime.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A diffusers pipeline folder: {@code model_index.json} plus one folder per component ({@code unet/},
 * {@code vae/}, {@code text_encoder/}, {@code tokenizer/}, {@code scheduler/}), each with its config and weights;
 * or a single-file checkpoint in the LDM layout with the configs of its architecture ({@link #open(Path, Path, String)}),
 * which then answers the same questions under the same diffusers names.
 */
public final class CheckpointDir {
    static final String LAYOUT = "a diffusers checkpoint folder holds model_index.json and the folders unet/, vae/, "
            + "text_encoder/, tokenizer/ and scheduler/, each with its config.json (scheduler_config.json for the "
            + "scheduler) and diffusion_pytorch_model.safetensors or model.safetensors";

    private final Path dir;
    private final JsonNode modelIndex;
    private final Path repackCache;
    private final java.util.function.Consumer<String> warn;
    /** Non-null for a single-file checkpoint ({@link #dir} is then the file). */
    private final SingleFileCheckpoint single;

    private CheckpointDir(Path dir, JsonNode modelIndex, Path repackCache, java.util.function.Consumer<String> warn, SingleFileCheckpoint single) {
        this.dir = dir;
        this.modelIndex = modelIndex;
        this.repackCache = repackCache;
        this.warn = warn;
        this.single = single;
    }

    /**
     * The same checkpoint with repacked weights cached in {@code cacheDir} ({@link RepackCache}; null: none):
     * the first load writes them there, later loads map them in place. {@code warn} hears why a cache could not be
     * written or read.
     */
    public CheckpointDir withRepackCache(Path cacheDir, java.util.function.Consumer<String> warn) {
        return new CheckpointDir(dir, modelIndex, cacheDir, warn, single);
    }

    private Weights open(String component, List<Path> files) {
        RepackCache cache = repackCache == null ? null : RepackCache.open(repackCache, component, files, warn);
        return Weights.open(component, cache, files.toArray(Path[]::new));
    }

    /** A diffusers folder, or a single {@code .safetensors} file of SD 1.x or 2.x recognised from its tensors. */
    public static CheckpointDir open(Path dir) {
        return open(dir, null, null);
    }

    /**
     * {@code model}: a diffusers folder, or a single-file checkpoint ({@code .safetensors}, LDM layout) whose
     * architecture {@code config} gives (a folder laid out like a diffusers checkpoint holding the configs, or an
     * LDM YAML; null: recognise SD 1.x / 2.x and use the built-in configs). {@code predictionType} ("epsilon" or
     * "v"; null: the config's) overrides the scheduler's. A pickle ({@code .ckpt}, {@code .pt}) is refused, never read.
     */
    public static CheckpointDir open(Path dir, Path config, String predictionType) {
        if (Files.isRegularFile(dir)) {
            if (WeightFiles.isPickle(dir) || dir.toString().endsWith(".ckpt") || dir.toString().endsWith(".pt") || dir.toString().endsWith(".pth"))
                throw new ConfigException(dir + ": a pickle checkpoint, which tav4j never unpickles (it can run code); convert it once: "
                        + "python -c \"import torch,safetensors.torch as s; d=torch.load('" + dir + "',map_location='cpu',weights_only=True); "
                        + "d=d.get('state_dict',d); s.save_file({k:v.contiguous() for k,v in d.items() if hasattr(v,'contiguous')},'"
                        + dir.getFileName().toString().replaceAll("\\.[^.]*$", "") + ".safetensors')\"");
            Path file = dir.toAbsolutePath().normalize();
            return new CheckpointDir(file, null, null, w -> {}, SingleFileCheckpoint.open(file, config, predictionType));
        }
        if (config != null) throw new ConfigException("--config " + config + ": only for a single-file checkpoint; " + dir + " is a folder with its own configs");
        if (predictionType != null) throw new ConfigException("--prediction-type: only for a single-file checkpoint; " + dir + "'s scheduler config says its prediction type");
        if (!Files.exists(dir)) throw new ConfigException(dir + ": checkpoint folder not found; " + LAYOUT);
        if (!Files.isDirectory(dir)) {
            String hint = WeightFiles.isPickle(dir) || dir.toString().endsWith(".safetensors")
                    ? " (a single-file checkpoint: convert it with diffusers: python -c \"from diffusers import "
                    + "StableDiffusionPipeline as P; P.from_single_file('" + dir + "').save_pretrained('OUT', safe_serialization=True)\")"
                    : "";
            throw new ConfigException(dir + ": not a folder" + hint + "; " + LAYOUT);
        }
        Path index = dir.resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            String hint = Files.isRegularFile(dir.resolve("config.json"))
                    ? " (this looks like a single component folder; give the folder above it)" : "";
            throw new ConfigException(dir + ": no model_index.json, so not a diffusers checkpoint folder" + hint + "; " + LAYOUT);
        }
        JsonNode json = Json.read(index);
        if (!json.isObject()) throw new ConfigException(index + ": not a JSON object");
        return new CheckpointDir(dir.toAbsolutePath().normalize(), json, null, w -> {}, null);
    }

    /** The folder, or the file of a single-file checkpoint. */
    public Path dir() { return dir; }

    /** Whether this is a single-file checkpoint. */
    public boolean isSingleFile() { return single != null; }

    /** For a single-file checkpoint, one line naming the tensors it ignores (EMA weights and the like); else null. */
    public String note() { return single == null ? null : single.note(); }

    /** The tokenizer: the folder's, or for a single file its config folder's or CLIP's built-in one. */
    public dev.tav4j.model.text.ClipTokenizer tokenizer() {
        return single != null ? single.tokenizer() : dev.tav4j.model.text.ClipTokenizer.load(tokenizerDir());
    }

    /** The parsed model_index.json. */
    public JsonNode modelIndex() { return modelIndex; }

    /** The folder of {@code component} ("unet", "vae", ...); throws when the checkpoint has none. */
    public Path component(String component) {
        if (single != null) throw new ConfigException(dir + ": a single-file checkpoint has no '" + component + "/' folder");
        Path p = dir.resolve(component);
        if (!Files.isDirectory(p)) {
            List<String> listed = new ArrayList<>();
            modelIndex.properties().forEach(e -> { if (!e.getKey().startsWith("_")) listed.add(e.getKey()); });
            throw new ConfigException(dir + ": no '" + component + "/' folder (model_index.json lists " + listed + "); " + LAYOUT);
        }
        return p;
    }

    /** The component's config.json, or scheduler_config.json for the scheduler. */
    public JsonNode config(String component) {
        if (single != null) return single.config(component);
        return Json.read(configFile(component));
    }

    private String configWhere(String component) {
        return single != null ? single.where(component) : configFile(component).toString();
    }

    private Path configFile(String component) {
        return component(component).resolve(component.equals("scheduler") ? "scheduler_config.json" : "config.json");
    }

    /**
     * The component's weights: {@code diffusion_pytorch_model.safetensors} / {@code model.safetensors}, else
     * shards named by an index json, else the fp16 variants. The VAE's are wrapped by {@link VaeNames} so both
     * mid-block attention naming schemes work.
     */
    public Weights weights(String component) {
        if (single != null) return single.weights(component);  // no repacked-weights cache: see LdmWeights
        Weights w = open(component, WeightFiles.find(component(component), dir));
        return component.equals("vae") ? VaeNames.wrap(w) : w;
    }

    /** Bytes the component's weights take as F32 in memory (from the files' headers; nothing is loaded). */
    public long weightBytesF32(String component) {
        try (Weights w = weights(component)) {
            return f32Bytes(w);
        }
    }

    /** Bytes the weights of a tuned UNet folder given alone take as F32 in memory (from the headers). */
    public static long unetFolderWeightBytesF32(Path dir) {
        try (Weights w = unetFolder(dir)) {
            return f32Bytes(w);
        }
    }

    private static long f32Bytes(Weights w) {
        long bytes = 0;
        for (String name : w.names()) bytes += Tensor.checkedSize(w.shape(name)) * 4;
        return bytes;
    }

    public UNetConfig unetConfig() { return UNetConfig.parse(config("unet"), configWhere("unet")); }

    public VaeConfig vaeConfig() { return VaeConfig.parse(config("vae"), configWhere("vae")); }

    public ClipTextConfig textConfig() {
        return ClipTextConfig.parse(config("text_encoder"), configWhere("text_encoder"));
    }

    public SchedulerConfig schedulerConfig() {
        return SchedulerConfig.parse(config("scheduler"), configWhere("scheduler"));
    }

    /** The tokenizer folder (vocab.json, merges.txt, special_tokens_map.json). */
    public Path tokenizerDir() { return component("tokenizer"); }

    /**
     * The folder of a tuned UNet given alone ({@code --unet DIR}): DIR itself when it holds config.json, else
     * DIR/unet when that does.
     */
    public static Path unetFolderPath(Path dir) {
        if (Files.isRegularFile(dir.resolve("config.json"))) return dir.toAbsolutePath().normalize();
        Path sub = dir.resolve("unet");
        if (Files.isRegularFile(sub.resolve("config.json"))) return sub.toAbsolutePath().normalize();
        throw new ConfigException(dir + ": not a UNet folder: expected config.json and diffusion_pytorch_model.safetensors "
                + "in it, or a unet/ folder holding them (as Tune-A-Video saves a tuned model)");
    }

    /** The weights of a tuned UNet folder used with this checkpoint (with its repacked-weights cache, if any). */
    public Weights tunedUnet(Path tunedDir) {
        Path unet = unetFolderPath(tunedDir);
        return open("unet", WeightFiles.find(unet, unet));
    }

    /** The weights of a tuned UNet folder given alone (see {@link #unetFolderPath}). */
    public static Weights unetFolder(Path dir) {
        Path unet = unetFolderPath(dir);
        return Weights.open("unet", WeightFiles.find(unet, unet).toArray(Path[]::new));
    }

    /** The config of a tuned UNet folder given alone (see {@link #unetFolderPath}). */
    public static UNetConfig unetFolderConfig(Path dir) {
        Path cfg = unetFolderPath(dir).resolve("config.json");
        return UNetConfig.parse(Json.read(cfg), cfg.toString());
    }

    @Override public String toString() { return "CheckpointDir[" + dir + "]"; }
}
