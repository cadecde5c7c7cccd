package dev.tav4j.cli;

import dev.tav4j.model.io.LoraFile;
import dev.tav4j.model.pipeline.TuneJob;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.video.VideoSampling;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code tav tune}: one-shot tuning on one text–video pair with flags instead of a YAML config. */
@Command(name = "tune", description = "Tune a Stable Diffusion checkpoint on one video and its prompt (Tune-A-Video); writes OUT/unet (with --lora-rank: OUT/lora.safetensors).")
final class TuneCommand implements Callable<Integer> {
    @Option(names = "--model", description = "Diffusers checkpoint folder (model_index.json, unet/, vae/, …), or a single-file checkpoint (.safetensors, original LDM layout) (default: the shipped world model, models/world-sd).") Path model;
    @Option(names = "--config", description = "For a single-file --model: a folder of diffusers configs (unet/, vae/, text_encoder/, scheduler/, optionally tokenizer/) or the LDM YAML (v1-inference.yaml, ...); default: SD 1.x / 2.x recognised from the tensors.") Path config;
    @Option(names = "--prediction-type", description = "For a single-file --model: epsilon or v (default: the config's).") String predictionType;
    @Option(names = "--video", required = true, description = "The video to tune on (mp4, mov, webm, gif, or a folder of images).") Path video;
    @Option(names = "--prompt", required = true, description = "The text that describes the video.") String prompt;
    @Option(names = "--out", required = true, description = "Output folder: unet/ (or lora.safetensors), checkpoint-N/, samples/, inv_latents/.") Path out;
    @Option(names = "--frames", defaultValue = "24", description = "Frames to sample (default: ${DEFAULT-VALUE}).") int frames;
    @Option(names = "--rate", defaultValue = "1", description = "Take every R-th frame (default: ${DEFAULT-VALUE}).") int rate;
    @Option(names = "--start", defaultValue = "0", description = "Index of the first frame (default: ${DEFAULT-VALUE}).") int start;
    @Option(names = "--height", description = "Frame height, multiple of 8 (default: 512; the shipped world model's 64 without --model).") Integer height;
    @Option(names = "--width", description = "Frame width, multiple of 8 (default: 512; the shipped world model's 64 without --model).") Integer width;
    @Option(names = "--steps", defaultValue = "500", description = "Tuning steps (default: ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--lr", description = "AdamW learning rate (default: 3e-5, the official; with --lora-rank 3e-4, see docs/tuning.md).") Float lr;
    @Option(names = "--seed", defaultValue = "33", description = "Seed of the tuning noise (default: ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--checkpoint-every", defaultValue = "0", description = "Save OUT/checkpoint-N every N steps (default: never).") int checkpointEvery;
    @Option(names = "--resume", description = "Continue the latest OUT/checkpoint-N; refused when there is none or it is another run's (other model, video, prompt, seed, size, frames, lr, trainable set, LoRA rank or precision).") boolean resume;
    @Option(names = "--resume-or-start", description = "Like --resume, but start at step 0 when OUT holds no checkpoint.") boolean resumeOrStart;
    @Option(names = "--validate-prompt", description = "Edit prompt for validation (repeatable).") List<String> validatePrompts = new ArrayList<>();
    @Option(names = "--validate-every", defaultValue = "0", description = "Validate every N steps (default: at the last step when prompts are given).") int validateEvery;
    @Option(names = "--validate-steps", defaultValue = "50", description = "DDIM steps of validation inversion and editing (default: ${DEFAULT-VALUE}).") int validateSteps;
    @Option(names = "--guidance", defaultValue = "12.5", description = "Guidance scale of validation edits (default: ${DEFAULT-VALUE}).") float guidance;
    @Option(names = "--no-gradient-checkpointing", description = "Keep every activation of a step (faster, more memory) instead of recomputing each block in the backward.") boolean noGradientCheckpointing;
    @Option(names = "--fps", defaultValue = "8", description = "Frame rate of the sample GIFs (default: ${DEFAULT-VALUE}).") int fps;
    @Option(names = "--lora", paramLabel = "FILE[:SCALE]", description = "A LoRA file (kohya or diffusers/PEFT safetensors) merged into the text encoder and UNet at load, times SCALE (default 1); repeatable.") List<String> loraSpecs = new ArrayList<>();
    @Option(names = "--lora-rank", paramLabel = "R", description = "Train rank-R LoRA adapters on the trainable modules' Linear layers instead of their weights; writes OUT/lora.safetensors (PEFT names, read back by --lora) instead of OUT/unet.") Integer loraRank;
    @Option(names = "--save-trainable-only", description = "Save OUT/unet as a small delta: the tuned tensors and the base checkpoint's hash (tav edit --tuned loads it over that base only; diffusers cannot).") boolean saveTrainableOnly;
    @Mixin DeviceOption device;

    /** The default learning rate of a LoRA run: 10× the official one. */
    static final float LORA_LR = 3e-4f;

    @Override public Integer call() {
        int[] size = WorldModel.defaults(p -> model = p, model, height, width);
        height = size[0];
        width = size[1];
        Checks.shape("--frames", frames, "--height", height, "--width", width);
        Checks.atLeast("--rate", rate, 1);
        Checks.atLeast("--start", start, 0);
        Checks.steps("--steps", steps);
        // LoRA adapters start from zero and move the model far more slowly at the official rate (measured: docs/tuning.md)
        if (lr == null) lr = loraRank != null ? LORA_LR : 3e-5f;
        Checks.positive("--lr", lr);
        Checks.steps("--validate-steps", validateSteps);
        // only validation samples with DDIM; without it the model folder is not read before the video
        if (!validatePrompts.isEmpty()) Checks.ddimSteps("--validate-steps", validateSteps, dev.tav4j.model.io.CheckpointDir.open(model, config, predictionType));
        Checks.finite("--guidance", guidance);
        Checks.atLeast("--fps", fps, 1);
        if (loraRank != null) Checks.atLeast("--lora-rank", loraRank, 1);
        if (loraRank != null && saveTrainableOnly)
            throw new IllegalArgumentException("--save-trainable-only with --lora-rank: a LoRA run saves only its adapters (OUT/lora.safetensors), "
                    + "which is already the small result; use one of the two");
        if (checkpointEvery < 0) throw new IllegalArgumentException("--checkpoint-every must be >= 0, got " + checkpointEvery);
        if (validateEvery < 0) throw new IllegalArgumentException("--validate-every must be >= 0, got " + validateEvery);
        if (validateEvery > 0 && validatePrompts.isEmpty())
            throw new IllegalArgumentException("--validate-every needs at least one --validate-prompt");
        VideoSampling sampling = new VideoSampling(width, height, frames, start, rate);
        TuneJob.Validation validation = validatePrompts.isEmpty() ? null
                : new TuneJob.Validation(List.copyOf(validatePrompts), validateSteps, guidance, true, validateSteps,
                        validateEvery > 0 ? validateEvery : steps);
        return TuneLauncher.execute(new TuneLauncher.Plan(model, video, sampling, prompt, out, steps,
                TuneSettings.defaults().withLearningRate(lr).withGradientCheckpointing(!noGradientCheckpointing)
                        .withLoraRank(loraRank == null ? 0 : loraRank), seed, checkpointEvery, validation,
                resumeOrStart ? TuneLauncher.Resume.OR_START : resume ? TuneLauncher.Resume.REQUIRED : TuneLauncher.Resume.NO, fps, null, loraSpecs.stream().map(LoraFile::parse).toList(),
                config, predictionType, saveTrainableOnly), device);
    }
}
