package dev.tav4j.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tav4j.model.tune.TrainableModules;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An official Tune-A-Video training config (configs/*.yaml of the official repository) with the defaults of
 * {@code main(...)} in train_tuneavideo.py for the keys it leaves out. Paths are as written (relative ones resolve
 * against the current directory, as the official script does). tav4j extensions: {@code lora},
 * {@code pretrained_model_config} and {@code prediction_type} (a single-file model's --config and --prediction-type),
 * {@code save_trainable_only} and {@code lora_rank} (null when absent: tune the weights).
 */
record TuneConfig(Path pretrainedModelPath, Path outputDir, TrainData trainData, ValidationData validationData,
                  int validationSteps, List<String> trainableModules, int trainBatchSize, int maxTrainSteps,
                  double learningRate, boolean scaleLr, String lrScheduler, int lrWarmupSteps,
                  double adamBeta1, double adamBeta2, double adamWeightDecay, double adamEpsilon, double maxGradNorm,
                  int gradientAccumulationSteps, boolean gradientCheckpointing, int checkpointingSteps,
                  String resumeFromCheckpoint, String mixedPrecision, boolean use8bitAdam,
                  boolean enableXformersMemoryEfficientAttention, Long seed, List<String> unknownKeys,
                  String file, Map<String, Integer> lines, List<dev.tav4j.model.io.LoraFile> loras,
                  Path pretrainedModelConfig, String predictionType, boolean saveTrainableOnly, Integer loraRank) {

    /** train_data: TuneAVideoDataset's arguments. */
    record TrainData(Path videoPath, String prompt, int width, int height, int nSampleFrames, int sampleStartIdx, int sampleFrameRate) {}

    /** validation_data: the prompts, the pipeline's arguments and the inversion settings. */
    record ValidationData(List<String> prompts, Integer videoLength, Integer width, Integer height, int numInferenceSteps,
                          double guidanceScale, boolean useInvLatent, int numInvSteps) {}

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static TuneConfig read(Path file) {
        JsonNode root;
        Map<String, Integer> lines;
        try {
            String text = Files.readString(file);
            root = YAML.readTree(text);
            lines = lines(text);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("config not found: " + file.toAbsolutePath());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read config " + file + ": " + dev.tav4j.model.config.Json.parseError(e), e);
        }
        if (!(root instanceof ObjectNode top)) throw new IllegalArgumentException(file + ": expected a YAML mapping of settings at the top level");
        return of(top, file.toString(), lines);
    }

    /**
     * A config already in memory (tav batch builds one per job); {@code name} starts every message, {@code lines}
     * the line of each dotted key where there is one.
     */
    static TuneConfig of(ObjectNode top, String name, Map<String, Integer> lines) {
        YamlSection c = new YamlSection(name, "", top, lines);

        YamlSection t = c.section("train_data");
        TrainData train = new TrainData(t.requiredPath("video_path"), t.requiredString("prompt"),
                t.integer("width", 512), t.integer("height", 512), t.integer("n_sample_frames", 8),
                t.integer("sample_start_idx", 0), t.integer("sample_frame_rate", 1));

        YamlSection v = c.section("validation_data");
        ValidationData val = new ValidationData(v.strings("prompts", List.of()),
                v.has("video_length") ? v.integer("video_length", 0) : null,
                v.has("width") ? v.integer("width", 0) : null, v.has("height") ? v.integer("height", 0) : null,
                v.integer("num_inference_steps", 50), v.number("guidance_scale", 7.5), v.bool("use_inv_latent", false),
                v.integer("num_inv_steps", 50));

        List<String> unknown = new ArrayList<>();
        TuneConfig cfg = new TuneConfig(
                c.requiredPath("pretrained_model_path"), c.requiredPath("output_dir"), train, val,
                c.integer("validation_steps", 100), c.strings("trainable_modules", TrainableModules.DEFAULT),
                c.integer("train_batch_size", 1), c.integer("max_train_steps", 500),
                c.number("learning_rate", 3e-5), c.bool("scale_lr", false), c.string("lr_scheduler", "constant"),
                c.integer("lr_warmup_steps", 0),
                c.number("adam_beta1", 0.9), c.number("adam_beta2", 0.999), c.number("adam_weight_decay", 1e-2),
                c.number("adam_epsilon", 1e-8), c.number("max_grad_norm", 1.0),
                c.integer("gradient_accumulation_steps", 1), c.bool("gradient_checkpointing", true),
                c.integer("checkpointing_steps", 500), c.string("resume_from_checkpoint", null),
                c.choice("mixed_precision", "fp16"), c.bool("use_8bit_adam", false),
                c.bool("enable_xformers_memory_efficient_attention", true), c.optionalLong("seed"), unknown, name, Map.copyOf(lines),
                c.loras("lora"), c.optionalPath("pretrained_model_config"), c.string("prediction_type", null),
                c.bool("save_trainable_only", false), c.has("lora_rank") ? c.integer("lora_rank", 0) : null);
        unknown.addAll(c.unknownKeys());
        unknown.addAll(t.unknownKeys());
        unknown.addAll(v.unknownKeys());
        return cfg;
    }

    /**
     * {@code key} (with its section, e.g. "train_data.n_sample_frames") as a message names it: "FILE:LINE: key", or
     * "FILE: key" for a key the file leaves out (its default is used).
     */
    String at(String key) {
        Integer line = lines.get(key);
        return file + (line == null ? "" : ":" + line) + ": " + key;
    }

    /**
     * The line of every key, by its dotted path (lists are not descended into: no setting lives inside one). The tree
     * Jackson builds keeps no positions, so the text is read once more as a stream of tokens, which have them.
     */
    static Map<String, Integer> lines(String text) throws IOException {
        Map<String, Integer> lines = new HashMap<>();
        try (JsonParser p = YAML.getFactory().createParser(text)) {
            if (p.nextToken() == JsonToken.START_OBJECT) mapping(p, "", lines);
        }
        return lines;
    }

    private static void mapping(JsonParser p, String prefix, Map<String, Integer> lines) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = prefix + p.currentName();
            lines.put(key, p.currentTokenLocation().getLineNr());  // a repeated key: the last one wins, as in the tree
            JsonToken v = p.nextToken();
            if (v == JsonToken.START_OBJECT) mapping(p, key + ".", lines);
            else if (v == JsonToken.START_ARRAY) p.skipChildren();
        }
    }
}
