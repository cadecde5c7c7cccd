package dev.tav4j.cli;

import dev.tav4j.model.pipeline.TuneJob;
import dev.tav4j.model.tune.TuneCheckpoint;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.video.VideoSampling;
import picocli.CommandLine.Command;
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

    @Override public Integer call() {
        TuneConfig c = TuneConfig.read(config);
        if (!c.unknownKeys().isEmpty())
            warn("ignoring keys tav4j does not know in " + config + ": " + String.join(", ", c.unknownKeys()));
        TuneLauncher.Plan plan = plan(c, device.device, device.precision, config);
        return TuneLauncher.execute(plan, device);
    }

    /** The job a config describes; warnings for what does not apply, errors for what would change the result. */
    static TuneLauncher.Plan plan(TuneConfig c, String backend, String precision, Path config) {
        if (c.trainBatchSize() != 1)
            warn("train_batch_size " + c.trainBatchSize() + ": the dataset is one video, so every batch holds that one sample"
                    + " (as in train_tuneavideo.py); tav4j tunes with batch 1");
        if (c.gradientAccumulationSteps() != 1)
            throw new IllegalArgumentException("gradient_accumulation_steps " + c.gradientAccumulationSteps()
                    + " is not supported: tav4j takes one optimizer step per tuning step (set it to 1)");
        String sched = c.lrScheduler().strip().toLowerCase(Locale.ROOT);
        if (!sched.equals("constant") && !(sched.equals("constant_with_warmup") && c.lrWarmupSteps() == 0))
            throw new IllegalArgumentException("lr_scheduler '" + c.lrScheduler() + "'" + (c.lrWarmupSteps() > 0 ? " with lr_warmup_steps "
                    + c.lrWarmupSteps() : "") + " is not supported: tav4j tunes with a constant learning rate (lr_scheduler: constant)");
        if (sched.equals("constant") && c.lrWarmupSteps() > 0)
            warn("lr_warmup_steps " + c.lrWarmupSteps() + " is ignored with lr_scheduler constant (as in diffusers)");
        String mp = c.mixedPrecision() == null ? "no" : c.mixedPrecision().strip().toLowerCase(Locale.ROOT);
        if (!mp.equals("no") && !mp.equals("fp32"))
            warn("mixed_precision " + c.mixedPrecision() + " is not taken from the config: tav4j computes with --precision "
                    + (precision == null ? "fp32" : precision) + ("cpu".equals(backend) ? " (the cpu backend computes in fp32 only)"
                    : " (on cuda, --precision bf16 or fp16 stores weights and activations in that type, accumulating in fp32)"));
        if (c.use8bitAdam()) warn("use_8bit_adam: tav4j keeps AdamW's moments in float32 (no bitsandbytes)");
        if (c.enableXformersMemoryEfficientAttention())
            note("enable_xformers_memory_efficient_attention: not needed, tav4j uses its own attention kernels");

        double lr = c.learningRate();
        if (c.scaleLr()) {
            lr *= c.gradientAccumulationSteps() * c.trainBatchSize(); // train_tuneavideo.py, one process
            note("scale_lr: learning rate " + c.learningRate() + " × " + c.trainBatchSize() + " = " + lr);
        }
        TuneSettings settings = new TuneSettings((float) lr, (float) c.adamBeta1(), (float) c.adamBeta2(), (float) c.adamWeightDecay(),
                (float) c.adamEpsilon(), (float) c.maxGradNorm(), c.trainableModules(), c.gradientCheckpointing());

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

        long seed;
        if (c.seed() != null) {
            seed = c.seed();
        } else {
            seed = System.nanoTime() & 0x7fffffffL;
            warn("no seed in the config: using seed " + seed + " (add 'seed: " + seed + "' to repeat this run)");
        }
        boolean resume = resume(c);
        return new TuneLauncher.Plan(c.pretrainedModelPath(), t.videoPath(), sampling, t.prompt(), c.outputDir(), c.maxTrainSteps(),
                settings, seed, c.checkpointingSteps(), validation, resume, 8, config);
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
            if (latest.isEmpty()) note("resume_from_checkpoint: latest: no checkpoint in " + c.outputDir() + " yet, starting at step 0");
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
