package dev.tav4j.model.pretrain;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.clip.ClipTextEncoder;
import dev.tav4j.model.config.ClipTextConfig;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.config.UNetConfigJson;
import dev.tav4j.model.config.VaeConfig;
import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.model.nn.Param;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.model.text.ClipTokenizer;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes what {@code tav pretrain} makes as a diffusers pipeline folder, the layout {@code CheckpointDir} and
 * {@code TuneAVideoPipeline.load} read: model_index.json, tokenizer/ (CLIP's BPE files), scheduler/ (SD's DDIM
 * settings), text_encoder/ (CLIPTextModel config and model.safetensors), vae/ (AutoencoderKL) and unet/ (Tune-A-Video's
 * UNet3DConditionModel config with its temporal layers). Weights are F32 safetensors in PyTorch layout; every file is
 * written atomically (a temporary file renamed).
 */
public final class PretrainedFolder {
    private PretrainedFolder() {}

    /** model_index.json, tokenizer/, scheduler/ and text_encoder/ (the frozen text encoder's weights). */
    public static void writeFixedParts(Path out, ClipTextEncoder text, DType stored) {
        ObjectNode index = Json.MAPPER.createObjectNode();
        index.put("_class_name", "TuneAVideoPipeline");
        index.put("_diffusers_version", "0.11.1");
        pair(index, "scheduler", "diffusers", "DDIMScheduler");
        pair(index, "text_encoder", "transformers", "CLIPTextModel");
        pair(index, "tokenizer", "transformers", "CLIPTokenizer");
        pair(index, "unet", "tuneavideo.models.unet", "UNet3DConditionModel");
        pair(index, "vae", "diffusers", "AutoencoderKL");
        writeJson(out.resolve("model_index.json"), index);
        ClipTokenizer.writeBuiltin(out.resolve("tokenizer"), "<|endoftext|>");
        writeJson(out.resolve("scheduler/scheduler_config.json"), scheduler(SchedulerConfig.defaults()));
        writeJson(out.resolve("text_encoder/config.json"), textConfig(text.config(), stored));
        writeWeights(out.resolve("text_encoder/model.safetensors"), text.params(), null, stored);
    }

    /** vae/config.json and its weights (the trainer's fp32 masters when given, else the parameters themselves). */
    public static void writeVae(Path out, VaeConfig cfg, ParamStore params, Trainer trainer, DType stored) {
        writeJson(out.resolve("vae/config.json"), vaeConfig(cfg));
        writeWeights(out.resolve("vae/diffusion_pytorch_model.safetensors"), params, trainer, stored);
    }

    /** unet/config.json (a UNet3DConditionModel: the loader takes its temporal layers as stored) and its weights. */
    public static void writeUnet(Path out, UNetConfig cfg, ParamStore params, Trainer trainer, DType stored) {
        writeJson(out.resolve("unet/config.json"), UNetConfigJson.tuned(cfg));
        writeWeights(out.resolve("unet/diffusion_pytorch_model.safetensors"), params, trainer, stored);
    }

    /**
     * A text-to-image UNet (pretrained on stills): unet/ as diffusers' UNet2DConditionModel, without the temporal
     * layers the engine's UNet3D carried untrained; loading it for tuning inflates it with fresh ones, as Tune-A-Video
     * inflates Stable Diffusion.
     */
    public static void writeImageUnet(Path out, UNetConfig cfg, ParamStore params, Trainer trainer, DType stored) {
        writeJson(out.resolve("unet/config.json"), UNetConfigJson.image(cfg));
        writeWeights(out.resolve("unet/diffusion_pytorch_model.safetensors"), params, trainer, stored, name -> !UNetLoader.temporalKey(name));
    }

    private static void writeWeights(Path file, ParamStore params, Trainer trainer, DType stored) {
        writeWeights(file, params, trainer, stored, name -> true);
    }

    private static void writeWeights(Path file, ParamStore params, Trainer trainer, DType stored, java.util.function.Predicate<String> keep) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (Param p : params.all().values()) if (keep.test(p.name())) shapes.put(p.name(), p.torchShape());
        mkdirs(file.getParent());
        SafeTensorsWriter.writeEach(file, shapes, name -> {
            Param p = params.all().get(name);
            Tensor value = trainer != null ? trainer.master(name) : p.value();
            return params.toTorchLayout(p, value);
        }, stored, Map.of("format", "pt"));
    }

    static ObjectNode scheduler(SchedulerConfig s) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("_class_name", "DDIMScheduler");
        n.put("_diffusers_version", "0.11.1");
        n.put("num_train_timesteps", s.numTrainTimesteps());
        n.put("beta_start", s.betaStart());
        n.put("beta_end", s.betaEnd());
        n.put("beta_schedule", s.betaSchedule());
        n.put("clip_sample", s.clipSample());
        n.put("set_alpha_to_one", s.setAlphaToOne());
        n.put("steps_offset", s.stepsOffset());
        n.put("prediction_type", s.predictionType());
        return n;
    }

    static ObjectNode textConfig(ClipTextConfig c, DType stored) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.putArray("architectures").add("CLIPTextModel");
        n.put("model_type", "clip_text_model");
        n.put("hidden_size", c.hiddenSize());
        n.put("intermediate_size", c.intermediateSize());
        n.put("num_attention_heads", c.heads());
        n.put("num_hidden_layers", c.layers());
        n.put("max_position_embeddings", c.maxPositions());
        n.put("vocab_size", c.vocabSize());
        n.put("hidden_act", c.hiddenAct());
        n.put("layer_norm_eps", c.layerNormEps());
        n.put("projection_dim", c.hiddenSize());
        n.put("bos_token_id", 49406);
        n.put("eos_token_id", 49407);
        n.put("pad_token_id", 1);
        n.put("torch_dtype", switch (stored) { case F32 -> "float32"; case F16 -> "float16"; case BF16 -> "bfloat16"; });
        return n;
    }

    static ObjectNode vaeConfig(VaeConfig c) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("_class_name", "AutoencoderKL");
        n.put("_diffusers_version", "0.11.1");
        n.put("act_fn", "silu");
        n.put("in_channels", c.inChannels());
        n.put("out_channels", c.outChannels());
        ArrayNode ch = n.putArray("block_out_channels");
        for (int v : c.blockOutChannels()) ch.add(v);
        ArrayNode down = n.putArray("down_block_types"), up = n.putArray("up_block_types");
        for (int i = 0; i < c.blockOutChannels().length; i++) {
            down.add("DownEncoderBlock2D");
            up.add("UpDecoderBlock2D");
        }
        n.put("layers_per_block", c.layersPerBlock());
        n.put("latent_channels", c.latentChannels());
        n.put("norm_num_groups", c.normNumGroups());
        n.put("sample_size", c.sampleSize());
        n.put("scaling_factor", c.scalingFactor());
        return n;
    }

    private static void pair(ObjectNode n, String key, String library, String cls) {
        n.putArray(key).add(library).add(cls);
    }

    static void writeJson(Path file, ObjectNode json) {
        mkdirs(file.getParent());
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, json.toPrettyString() + "\n");
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static void mkdirs(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
    }
}
