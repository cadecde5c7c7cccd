package dev.tav4j.cli;

import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.pipeline.TuneJob;
import dev.tav4j.model.tune.TuneCheckpoint;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.video.VideoSampling;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code tav run CONFIG.yaml}: train_tuneavideo.py with an official config, unchanged. Settings that do not apply to
 * tav4j are named with what tav4j does instead; settings that would change the result and are not supported stop
 * the run before any work.
 */
@Command(name = "run", description = "Tune (and validate) with an official Tune-A-Video YAML config, e.g. configs/man-skiing.yaml.")
final class RunCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CONFIG.yaml", description = "The training config (the official format).") Path config;
    @Mixin DeviceOption device;
    @Spec CommandSpec spec;

    @Override public Integer call() {
        TuneConfig c = TuneConfig.read(config);
        if (!c.unknownKeys().isEmpty())
            warn("ignoring keys tav4j does not know in " + config + ": " + String.join(", ", c.unknownKeys()));
        boolean flag = spec.commandLine().getParseResult().hasMatchedOption("--precision");
        DType precision = precision(c.mixedPrecision(), flag ? device.precision : null, c.at("mixed_precision"));
        TuneLauncher.Plan plan = plan(c, config);
        return TuneLauncher.execute(plan, device.env(), () -> open(device.device, device.settings(precision), flag ? null : c.mixedPrecision()));
    }

    /**
     * The precision of the run: {@code --precision} when given (it wins over the config, with a note), else the
     * config's mixed_precision (no → fp32, fp16, bf16), as accelerate reads it.
     */
    static DType precision(String mixedPrecision, String flag) {
        return precision(mixedPrecision, flag, "mixed_precision");
    }

    /** As above; {@code key} names the setting in messages (with the config's file and line). */
    static DType precision(String mixedPrecision, String flag, String key) {
        String mp = mixedPrecision == null ? "no" : mixedPrecision.strip().toLowerCase(Locale.ROOT);
        DType fromConfig = switch (mp) {
            case "no", "fp32", "none", "" -> DType.F32;
            case "fp16" -> DType.F16;
            case "bf16" -> DType.BF16;
            default -> throw new IllegalArgumentException(key + " '" + mixedPrecision + "' must be no, fp16 or bf16");
        };
        if (flag == null) return fromConfig;
        DType p = BackendSettings.parsePrecision(flag);
        if (p != fromConfig) note("--precision " + flag + " overrides mixed_precision: " + mixedPrecision + " of the config");
        return p;
    }

    /**
     * The backend for the run. Mixed precision is a CUDA-backend feature: on the cpu backend (chosen, or picked by
     * auto) a half precision becomes a warning and the run trains in fp32, so the official configs (mixed_precision:
     * fp16) run unchanged everywhere. An explicit {@code --precision} (mixedPrecision null) with the cpu backend is an
     * error, as for every command.
     */
    static Ops open(String device, BackendSettings settings, String mixedPrecision) {
        DType precision = settings.precision();
        Ops ops = DeviceOption.select(device, settings);
        if (ops.precision() != precision) {  // the cpu backend: fp32 whatever was asked
            if (mixedPrecision == null)
                throw new IllegalArgumentException("--precision " + DeviceOption.name(precision) + " needs --device cuda: the " + ops.name()
                        + " backend computes in fp32 only");
            warn("mixed_precision " + mixedPrecision.strip()
                    + " is a CUDA-backend feature: the " + ops.name() + " backend computes in fp32 only, so this run trains in fp32"
                    + " (use --device cuda for " + DeviceOption.name(precision) + " activations with fp32 master weights)");
        }
        System.err.println("backend: " + ops.name() + " (" + DeviceOption.precisionOf(ops) + ")");
        return ops;
    }

    /** The job a config describes; warnings for what does not apply, errors for what would change the result. */
    static TuneLauncher.Plan plan(TuneConfig c, Path config) {
        if (c.trainBatchSize() != 1)
            warn("train_batch_size " + c.trainBatchSize() + ": the dataset is one video, so every batch holds that one sample"
                    + " (as in train_tuneavideo.py); tav4j tunes with batch 1");
        if (c.gradientAccumulationSteps() != 1)
            throw new IllegalArgumentException(c.at("gradient_accumulation_steps") + " " + c.gradientAccumulationSteps()
                    + " is not supported: tav4j takes one optimizer step per tuning step (set it to 1)");
        String sched = c.lrScheduler().strip().toLowerCase(Locale.ROOT);
        if (!sched.equals("constant") && !(sched.equals("constant_with_warmup") && c.lrWarmupSteps() == 0))
            throw new IllegalArgumentException(c.at("lr_scheduler") + " '" + c.lrScheduler() + "'" + (c.lrWarmupSteps() > 0 ? " with lr_warmup_steps "
                    + c.lrWarmupSteps() : "") + " is not supported: tav4j tunes with a constant learning rate (lr_scheduler: constant)");
        if (sched.equals("constant") && c.lrWarmupSteps() > 0)
            warn("lr_warmup_steps " + c.lrWarmupSteps() + " is ignored with lr_scheduler constant (as in diffusers)");
        if (c.use8bitAdam()) warn("use_8bit_adam: tav4j keeps AdamW's moments in float32 (no bitsandbytes)");
        if (c.enableXformersMemoryEfficientAttention())
            note("enable_xformers_memory_efficient_attention: not needed, tav4j uses its own attention kernels");

        // the model is read here only when the config names its architecture (or to check validation's steps below)
        if (c.pretrainedModelConfig() != null || c.predictionType() != null) model(c);
        checkValues(c);
        double lr = c.learningRate();
        if (c.scaleLr()) {
            lr *= c.gradientAccumulationSteps() * c.trainBatchSize(); // train_tuneavideo.py, one process
            note("scale_lr: learning rate " + c.learningRate() + " × " + c.trainBatchSize() + " = " + lr);
        }
        TuneSettings settings = new TuneSettings((float) lr, (float) c.adamBeta1(), (float) c.adamBeta2(), (float) c.adamWeightDecay(),
                (float) c.adamEpsilon(), (float) c.maxGradNorm(), c.trainableModules(), c.gradientCheckpointing(),
                c.loraRank() == null ? 0 : c.loraRank());

        TuneConfig.TrainData t = c.trainData();
        VideoSampling sampling = new VideoSampling(t.width(), t.height(), t.nSampleFrames(), t.sampleStartIdx(), t.sampleFrameRate());
        TuneConfig.ValidationData v = c.validationData();
        TuneJob.Validation validation = null;
        if (!v.prompts().isEmpty() && c.validationSteps() > 0) {
            validation = new TuneJob.Validation(v.prompts(), v.numInferenceSteps(), (float) v.guidanceScale(), v.useInvLatent(),
                    v.numInvSteps(), c.validationSteps());
            if (v.videoLength() != null && v.videoLength() != t.nSampleFrames()
                    || v.width() != null && v.width() != t.width() || v.height() != null && v.height() != t.height())
                warn("validation_data asks for " + v.videoLength() + " frames of " + v.width() + "x" + v.height()
                        + "; tav4j validates at the training size, " + t.nSampleFrames() + " frames of " + t.width() + "x" + t.height());
        }

        boolean resume = resume(c);
        long seed;
        Optional<Path> latest = resume ? TuneCheckpoint.latest(c.outputDir()) : Optional.empty();
        if (c.seed() != null) {
            seed = c.seed();
        } else if (latest.isPresent()) {  // the resumed run's own seed, as the checkpoint recorded it
            seed = TuneCheckpoint.info(latest.get()).seed();
            note("no seed in the config: resuming with the seed of " + latest.get() + ", " + seed);
        } else {
            seed = System.nanoTime() & 0x7fffffffL;
            warn("no seed in the config: using seed " + seed + " (add 'seed: " + seed + "' to repeat this run)");
        }
        return new TuneLauncher.Plan(c.pretrainedModelPath(), t.videoPath(), sampling, t.prompt(), c.outputDir(), c.maxTrainSteps(),
                settings, seed, c.checkpointingSteps(), validation, resume ? TuneLauncher.Resume.REQUIRED : TuneLauncher.Resume.NO, 8, config, c.loras(),
                c.pretrainedModelConfig(), c.predictionType(), c.saveTrainableOnly());
    }

    /** Every value the run uses, checked before any work; messages name the YAML key with its section, file and line. */
    private static void checkValues(TuneConfig c) {
        TuneConfig.TrainData t = c.trainData();
        Checks.shape(c.at("train_data.n_sample_frames"), t.nSampleFrames(), c.at("train_data.height"), t.height(),
                c.at("train_data.width"), t.width());
        Checks.atLeast(c.at("train_data.sample_start_idx"), t.sampleStartIdx(), 0);
        Checks.atLeast(c.at("train_data.sample_frame_rate"), t.sampleFrameRate(), 1);
        Checks.steps(c.at("max_train_steps"), c.maxTrainSteps());
        Checks.positive(c.at("learning_rate"), c.learningRate());
        Checks.atLeast(c.at("checkpointing_steps"), c.checkpointingSteps(), 0);
        Checks.finite(c.at("adam_beta1"), c.adamBeta1());
        Checks.finite(c.at("adam_beta2"), c.adamBeta2());
        Checks.finite(c.at("adam_weight_decay"), c.adamWeightDecay());
        Checks.positive(c.at("adam_epsilon"), c.adamEpsilon());
        Checks.positive(c.at("max_grad_norm"), c.maxGradNorm());
        if (c.loraRank() != null) {
            Checks.atLeast(c.at("lora_rank"), c.loraRank(), 1);
            if (c.learningRate() < TuneCommand.LORA_LR)
                note(c.at("lora_rank") + " with learning_rate " + c.learningRate() + ": LoRA adapters start from zero and learn far more "
                        + "slowly than the weights at the official rate; " + TuneCommand.LORA_LR + " (tav tune's default with --lora-rank) "
                        + "followed full tuning's loss on the golden video (docs/tuning.md)");
            if (c.saveTrainableOnly())
                throw new IllegalArgumentException(c.at("lora_rank") + " with save_trainable_only: a LoRA run saves only its adapters "
                        + "(output_dir/lora.safetensors), which is already the small result; use one of the two");
        }
        TuneConfig.ValidationData v = c.validationData();
        if (!v.prompts().isEmpty()) {  // the official script validates every validation_steps steps (0 would divide by zero)
            Checks.steps(c.at("validation_steps"), c.validationSteps());
            CheckpointDir model = model(c);
            Checks.ddimSteps(c.at("validation_data.num_inference_steps"), v.numInferenceSteps(), model);
            if (v.useInvLatent()) Checks.ddimSteps(c.at("validation_data.num_inv_steps"), v.numInvSteps(), model);
            Checks.finite(c.at("validation_data.guidance_scale"), v.guidanceScale());
        }
    }

    /**
     * pretrained_model_path with the tav4j keys pretrained_model_config and prediction_type; the library's messages
     * name the flags (--config, --prediction-type), so they are renamed to the config's keys with file and line.
     */
    static CheckpointDir model(TuneConfig c) {
        try {
            return CheckpointDir.open(c.pretrainedModelPath(), c.pretrainedModelConfig(), c.predictionType());
        } catch (ConfigException e) {
            String m = e.getMessage();
            if (m.startsWith("--config ")) m = c.at("pretrained_model_config") + " " + m.substring("--config ".length());
            else if (m.startsWith("--prediction-type ")) m = c.at("prediction_type") + " " + m.substring("--prediction-type ".length());
            else if (!m.startsWith(c.pretrainedModelPath().toString())) m = c.at("pretrained_model_path") + ": " + m;
            throw new IllegalArgumentException(m.replace("--config", "pretrained_model_config").replace("--prediction-type", "prediction_type"), e);
        }
    }

    /**
     * resume_from_checkpoint: "latest", or a checkpoint whose folder name is looked up in output_dir (as
     * train_tuneavideo.py does). tav4j resumes from the latest complete checkpoint, so a named one must be that one.
     */
    private static boolean resume(TuneConfig c) {
        String r = c.resumeFromCheckpoint();
        if (r == null || r.isBlank() || r.equalsIgnoreCase("none") || r.equalsIgnoreCase("null")) return false;
        Optional<Path> latest = TuneCheckpoint.latest(c.outputDir());
        if (r.strip().equals("latest")) {
            if (latest.isEmpty()) // as train_tuneavideo.py, which fails on an empty list; remove the key to start at step 0
                throw new IllegalArgumentException("resume_from_checkpoint: latest: no complete checkpoint in " + c.outputDir()
                        + " to resume from; remove resume_from_checkpoint to start at step 0");
            return true;
        }
        String name = Path.of(r.strip()).getFileName().toString();
        Path wanted = c.outputDir().resolve(name);
        if (!Files.isRegularFile(wanted.resolve("state.json")))
            throw new IllegalArgumentException("resume_from_checkpoint " + r + ": no complete checkpoint " + wanted);
        if (latest.isEmpty() || !latest.get().getFileName().toString().equals(name))
            throw new IllegalArgumentException("resume_from_checkpoint " + r + ": tav4j resumes from the latest checkpoint of "
                    + c.outputDir() + ", which is " + latest.map(Path::toString).orElse("none") + "; move the later ones away or use 'latest'");
        return true;
    }

    private static void warn(String msg) {
        System.err.println("warning: " + msg);
    }

    private static void note(String msg) {
        System.err.println("note: " + msg);
    }
}
