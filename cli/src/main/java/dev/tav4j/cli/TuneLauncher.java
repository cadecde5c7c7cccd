package dev.tav4j.cli;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.LoraFile;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.pipeline.TuneJob;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.model.tune.LoraTuning;
import dev.tav4j.model.tune.TrainableModules;
import dev.tav4j.model.tune.RunFingerprint;
import dev.tav4j.model.tune.TuneCheckpoint;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.video.VideoClip;
import dev.tav4j.video.VideoReader;
import dev.tav4j.model.video.VideoSampling;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs one tuning job for {@code tav tune} and {@code tav run}: checks the output folder, reads the video, loads the
 * checkpoint, tunes ({@link TuneJob}), and reports the time of each stage and where the outputs went. Ctrl-C stops
 * the job at the next step boundary, so every folder it leaves is complete and {@code --resume} continues.
 */
final class TuneLauncher {
    /**
     * Everything one job needs, already checked for meaning (the library checks the rest). {@code modelConfig} and
     * {@code predictionType}: a single-file model's --config and --prediction-type (null: none).
     */
    record Plan(Path model, Path video, VideoSampling sampling, String prompt, Path out, int steps, TuneSettings settings,
                long seed, int checkpointEvery, TuneJob.Validation validation, Resume resume, int fps, Path config,
                List<LoraFile> loras, Path modelConfig, String predictionType, boolean saveTrainableOnly) {
        Plan(Path model, Path video, VideoSampling sampling, String prompt, Path out, int steps, TuneSettings settings,
             long seed, int checkpointEvery, TuneJob.Validation validation, Resume resume, int fps, Path config, List<LoraFile> loras) {
            this(model, video, sampling, prompt, out, steps, settings, seed, checkpointEvery, validation, resume, fps, config, loras, null, null, false);
        }
    }

    /** NO: start at step 0; REQUIRED: continue the latest checkpoint or stop; OR_START: continue it, or start when there is none. */
    enum Resume { NO, REQUIRED, OR_START }

    /** Exit code of a cancelled run (as a shell reports SIGINT). */
    static final int CANCELLED = 130;
    /** Test hook: when positive, the job is cancelled after this many tuning steps of this process. */
    static volatile int cancelAfterTuneSteps = -1;

    private TuneLauncher() {}

    static int execute(Plan plan, DeviceOption device) {
        return execute(plan, device.env(), device::open);
    }

    /** Runs the plan on the backend {@code backend} opens (after the cheap checks and reading the video). */
    static int execute(Plan plan, CliEnvironment env, java.util.function.Supplier<Ops> backend) {
        return execute(plan, env, backend, new Report());
    }

    /**
     * What a run did, for a caller that keeps a record of it (tav batch's result.json): the seconds of each stage, the
     * loss of each step this process ran, the tuned steps and the last loss. Filled while the run goes on, so a run
     * that is cancelled or fails still leaves what it got to.
     */
    static final class Report {
        final Map<String, Double> stages = new LinkedHashMap<>();
        final List<Double> losses = new ArrayList<>();
        volatile int steps = -1;
        volatile float lastLoss = Float.NaN;
        volatile String backend;
        /** "loaded" for this job, or "reused": kept loaded from an earlier job of the process (null: not reached). */
        volatile String baseModel;
    }

    /** As above, recording into {@code report}; the backend and base model opened and loaded for this run. */
    static int execute(Plan plan, CliEnvironment env, java.util.function.Supplier<Ops> backend, Report report) {
        return execute(plan, env, new BaseModels.BackendKey("run", null), backend, report, BaseModels.NONE);
    }

    /**
     * As above, the backend and base model from {@code models} (tav batch: kept loaded between jobs); {@code
     * backendKey} says which backend {@code backend} opens, so a kept one is taken only for the same.
     */
    static int execute(Plan plan, CliEnvironment env, BaseModels.BackendKey backendKey, java.util.function.Supplier<Ops> backend,
                       Report report, BaseModels models) {
        if (plan.steps() < 1) throw new IllegalArgumentException("the number of tuning steps must be at least 1, got " + plan.steps());
        // a merged LoRA changes frozen weights too, which a delta leaves to the base: it would load without them
        if (plan.saveTrainableOnly() && !plan.loras().isEmpty())
            throw new IllegalArgumentException("--save-trainable-only with --lora: the LoRA merged into the frozen weights would be lost "
                    + "(a delta holds only the trainable tensors); save the full unet/ instead");
        if (plan.saveTrainableOnly() && plan.settings().lora())
            throw new IllegalArgumentException("--save-trainable-only with --lora-rank: a LoRA run saves only its adapters (OUT/"
                    + LoraTuning.FILE + "), which is already the small result; use one of the two");
        if (!(plan.settings().learningRate() > 0)) throw new IllegalArgumentException("the learning rate must be positive, got " + plan.settings().learningRate());
        ConsoleProgress progress = new ConsoleProgress();
        progress.metricListener = (name, value) -> {
            if (name.equals("loss")) synchronized (report.losses) { report.losses.add(value); }
        };
        if (cancelAfterTuneSteps > 0) progress.cancelAfter("tune", cancelAfterTuneSteps);
        StringBuilder times = new StringBuilder();
        long t0 = System.nanoTime(), t = t0;

        // the frames themselves were checked against host memory (Checks.shape) before reading them
        VideoClip clip = VideoReader.read(plan.video(), plan.sampling());
        System.err.println("video: " + plan.video() + " → " + clip);
        t = stage(times, report, "read video", t);
        // configs and headers only; a bad --model or --config fails here, before the fingerprint reads it
        CheckpointDir ckpt = ModelArgs.open(plan.model(), plan.modelConfig(), plan.predictionType());
        // what defines this run, recorded in its checkpoints; a resume of another run is refused before loading
        Map<String, String> run = runIdentity(plan, clip);
        boolean resume = plan.resume() != Resume.NO && resumable(plan, run);
        requireWritableFolder(plan.out());
        try (BaseModels.Lease lease = models.backend(backendKey, backend)) {
            int code = execute(plan, env, report, progress, clip, ckpt, run, resume, lease, times, t0, t);
            if (code == 0 || code == CANCELLED) lease.keep();  // a known state: the model may serve the next job
            return code;
        }
    }

    private static int execute(Plan plan, CliEnvironment env, Report report, ConsoleProgress progress, VideoClip clip, CheckpointDir ckpt,
                               Map<String, String> run, boolean resume, BaseModels.Lease lease, StringBuilder times, long t0, long t) {
        Ops ops = lease.ops();
        report.backend = ops.name() + " (" + DeviceOption.precisionOf(ops) + ")";
        run.put("precision", DeviceOption.name(ops.precision()));
        if (resume) {
            String p = TuneCheckpoint.info(TuneCheckpoint.latest(plan.out()).orElseThrow()).run().get("precision");
            if (p != null && !p.equals(run.get("precision")))
                throw new IllegalArgumentException("--resume: " + TuneCheckpoint.latest(plan.out()).orElseThrow() + " was tuned in " + p
                        + ", this run would tune in " + run.get("precision") + " (--precision / mixed_precision)");
        }
        TuneJob.Validation v = plan.validation();
        boolean validates = v != null && v.everySteps() > 0 && v.everySteps() <= plan.steps() && !v.prompts().isEmpty();
        MemoryPlan memory = MemoryCheck.before(ops, MemoryCheck.models(ckpt, null), MemoryPlan.Workload.tune(clip.frames().size(),
                plan.sampling().height(), plan.sampling().width(), plan.settings(), validates, validates && v.useInvLatent()), lease.holdsModel());
        if (plan.config() != null) keepConfig(plan.config(), plan.out());
        if (!resume)
            TuneCheckpoint.latest(plan.out()).ifPresent(old -> System.err.println("warning: " + plan.out() + " holds checkpoints of an "
                    + "earlier run (latest " + old.getFileName() + "); this run starts at step 0 and replaces them as it reaches them, "
                    + "but a later --resume would pick the latest one: use a fresh output folder to keep runs apart"));
        // on a bf16/fp16 backend the trainable layers also keep their exact fp32 values: the master weights (a LoRA
        // run's weights stay frozen: its adapters, made after the load, are the trainable parameters)
        BaseModels.ModelKey key = new BaseModels.ModelKey(plan.model().toAbsolutePath().normalize().toString(),
                plan.modelConfig() == null ? null : plan.modelConfig().toAbsolutePath().normalize().toString(), plan.predictionType(),
                plan.loras().stream().map(l -> l.path().toAbsolutePath().normalize() + "@" + l.scale()).toList(),
                plan.settings().lora() ? null : List.copyOf(plan.settings().trainableModules()));
        TuneAVideoPipeline p = lease.model(key, () -> TuneAVideoPipeline.load(ops, ckpt, null, plan.settings().lora() ? name -> false
                        : TrainableModules.matcher(plan.settings().trainableModules()),
                env.repackCache(), RepackCacheDir.WARN, plan.loras()));
        report.baseModel = lease.reused() ? "reused" : "loaded";
        if (lease.reused()) {
            t = stage(times, report, "restore base model", t);
            System.err.println("base model: kept loaded from an earlier job of this process, trainable parameters restored");
        } else {
            t = stage(times, report, "load checkpoint", t);
            System.err.println("loaded: " + p.loadTimes());
        }
        TuneJob.Spec spec = new TuneJob.Spec(plan.out(), plan.prompt(), plan.steps(), plan.settings(), plan.seed(),
                plan.checkpointEvery(), plan.validation(), resume, plan.fps(), run, plan.saveTrainableOnly());
        System.err.printf(Locale.ROOT, "tuning %d steps on \"%s\" (lr %.3g, seed %d, %s %s)%s%n",
                plan.steps(), plan.prompt(), plan.settings().learningRate(), plan.seed(),
                plan.settings().lora() ? "LoRA rank " + plan.settings().loraRank() + " on" : "trainable", plan.settings().trainableModules(),
                mixedPrecisionNote(ops.precision()));
        // Ctrl-C waits for the job to stop and for this report, so the user learns where things are
        try (CtrlC ignored = new CtrlC(progress, env.cancelWaitSeconds())) {
            TuneJob.Result r;
            try (Tensor pixels = clip.toPixels()) {
                progress.mark();
                r = TuneJob.run(p, pixels, spec, progress);
            } catch (CancellationException e) {
                System.err.println();
                var last = TuneCheckpoint.latest(plan.out());
                System.err.println("tav: " + e.getMessage() + "; " + (last.isPresent()
                        ? "latest complete checkpoint: " + last.get() + "; continue with --resume (or resume_from_checkpoint: latest)"
                        : "no checkpoint was written yet (--checkpoint-every / checkpointing_steps), nothing to resume from"));
                return CANCELLED;
            }
            t = stage(times, report, "tune" + (plan.validation() != null && plan.validation().everySteps() > 0 ? " (with validation)" : ""), t);
            report.steps = r.steps();
            report.lastLoss = r.lastLoss();
            System.out.printf(Locale.ROOT, "tuned %d steps, last loss %s%n", r.steps(),
                    Float.isNaN(r.lastLoss()) ? "not recorded (a checkpoint of an older tav4j)" : String.format(Locale.ROOT, "%.6f", r.lastLoss()));
            if (r.skippedSteps() > 0 || ops.precision() == DType.F16)
                System.out.printf(Locale.ROOT, "  skipped steps:    %d (non-finite gradients: no update; AdamW took %d steps)%s%n",
                        r.skippedSteps(), r.steps() - r.skippedSteps(),
                        ops.precision() == DType.F16 ? String.format(Locale.ROOT, ", final loss scale %.0f", r.lossScale()) : "");
            if (r.unetDir() != null)
                System.out.println("  tuned UNet:       " + r.unetDir() + (plan.saveTrainableOnly()
                        ? " (a delta: it loads only over " + plan.model() + " or a checkpoint with its hash)" : ""));
            if (r.lora() != null)
                System.out.println("  LoRA:             " + r.lora() + " (rank " + plan.settings().loraRank()
                        + ", PEFT names; edit with: tav edit --model " + plan.model() + " --lora " + r.lora() + " ...)");
            for (Path c : r.checkpoints()) System.out.println("  checkpoint:       " + c);  // this run's, not an old run's
            for (Path s : r.samples()) System.out.println("  sample:           " + s);
            if (r.invLatents() != null) System.out.println("  inverted latents: " + r.invLatents());
            System.out.print("time:\n" + times);
            System.out.print(progress.summary());
            System.out.printf(Locale.ROOT, "  %-28s %8.1f s%n", "total", (System.nanoTime() - t0) / 1e9);
            MemoryCheck.after(memory, ops);
        }
        return 0;
    }

    /** What mixed precision does on this backend, for the start line ("" in fp32). */
    static String mixedPrecisionNote(DType precision) {
        return switch (precision) {
            case F32 -> "";
            case BF16 -> "; mixed precision bf16: bf16 activations and frozen weights, fp32 master weights, gradients and AdamW";
            case F16 -> "; mixed precision fp16: fp16 activations and frozen weights, fp32 master weights, gradients and AdamW, "
                    + "dynamic loss scaling (GradScaler: 65536, x2 every 2000 finite steps, x0.5 and the step skipped on overflow)";
        };
    }

    private static long stage(StringBuilder times, Report report, String name, long since) {
        long now = System.nanoTime();
        report.stages.put(name, (now - since) / 1e9);
        times.append(String.format(Locale.ROOT, "  %-28s %8.1f s%n", name, (now - since) / 1e9));
        return now;
    }

    /**
     * What defines the run and must match to resume it (the precision is added once the backend is open): the model
     * (a hash of its files' headers, see {@link RunFingerprint}), the sampled frames (a hash of their pixels) and how
     * they were sampled, prompt, seed, size, frames, learning rate and trainable modules.
     */
    static Map<String, String> runIdentity(Plan plan, VideoClip clip) {
        Map<String, String> run = new LinkedHashMap<>();
        run.put("model", RunFingerprint.model(plan.model(), plan.modelConfig(), plan.predictionType()));
        run.put("video", RunFingerprint.frames(clip.frames()));
        VideoSampling s = plan.sampling();
        run.put("sampling", "start " + s.startIndex() + ", rate " + s.frameRate());
        run.put("frames", Integer.toString(s.frames()));
        run.put("size", s.width() + "x" + s.height());
        run.put("prompt", plan.prompt());
        run.put("seed", Long.toString(plan.seed()));
        run.put("lr", Float.toString(plan.settings().learningRate()));
        run.put("trainable", String.join(",", plan.settings().trainableModules()));
        run.put("lora_rank", Integer.toString(plan.settings().loraRank()));  // 0: the weights tuned
        // a LoRA changes the weights tuned from: resuming with another would mix two models
        if (!plan.loras().isEmpty()) run.put("lora", plan.loras().toString());
        return run;
    }

    /**
     * Whether to resume: true when the latest checkpoint is this run's; refused naming each difference when it is
     * another run's, when it is past the steps asked for, or (unless OR_START) when there is none.
     */
    static boolean resumable(Plan plan, Map<String, String> run) {
        var latest = TuneCheckpoint.latest(plan.out());
        if (latest.isEmpty()) {
            if (plan.resume() == Resume.OR_START) {
                System.err.println("note: no checkpoint in " + plan.out() + " to resume from: starting at step 0");
                return false;
            }
            throw new IllegalArgumentException("--resume: no complete checkpoint in " + plan.out() + " to resume from; "
                    + "run without --resume to start at step 0 (or use --resume-or-start)");
        }
        TuneCheckpoint.Info info = TuneCheckpoint.info(latest.get());
        if (info.step() > plan.steps())
            throw new IllegalArgumentException("--resume: " + latest.get() + " is at step " + info.step() + ", past the " + plan.steps()
                    + " steps asked for (--steps / max_train_steps); ask for at least " + info.step() + " steps, or use another output folder");
        if (info.run().isEmpty()) {  // written before checkpoints recorded their run: resumable, but unchecked
            List<String> unchecked = new ArrayList<>(run.keySet());
            unchecked.add("precision");
            System.err.println("warning: --resume: " + latest.get() + " records no run (an older tav4j wrote it), so its "
                    + String.join(", ", unchecked) + " cannot be checked against this run's; resuming it as this run");
            return true;
        }
        List<String> diffs = new ArrayList<>();
        run.forEach((k, v) -> {
            String was = info.run().get(k);
            if (was != null && !was.equals(v)) diffs.add(k + " " + quote(was) + " there, " + quote(v) + " now");
        });
        if (!diffs.isEmpty())
            throw new IllegalArgumentException("--resume: " + latest.get() + " is another run: " + String.join("; ", diffs)
                    + "; resume with the same settings, or tune into another output folder");
        return true;
    }

    private static String quote(String s) {
        return "'" + (s.length() > 60 ? s.substring(0, 57) + "…" : s) + "'";
    }

    /**
     * Creates the output folder and proves it can be written by writing and deleting a file in it (permission
     * bits alone say nothing when running as root), before any expensive work.
     */
    static void requireWritableFolder(Path out) {
        if (Files.exists(out) && !Files.isDirectory(out))
            throw new IllegalArgumentException("output folder " + out + " is a file, not a folder");
        try {
            Files.createDirectories(out);
            Path probe = Files.createTempFile(out, ".tav-write-test", ".tmp");
            Files.delete(probe);
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalArgumentException("output folder " + out + " cannot be written: " + e, e);
        }
    }

    /** Like the official script, keeps the config next to the outputs (OUT/config.yaml, written atomically). */
    private static void keepConfig(Path config, Path out) {
        Path dst = out.resolve("config.yaml");
        try {
            if (Files.exists(dst) && Files.isSameFile(dst, config)) return;
            Path tmp = out.resolve(".config.yaml.part");
            Files.copy(config, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, dst, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write " + dst + ": " + e.getMessage(), e);
        }
    }

    /** While open, Ctrl-C (SIGINT/SIGTERM) cancels the job and waits for it to stop at a step boundary. */
    private static final class CtrlC implements AutoCloseable {
        private final CountDownLatch done = new CountDownLatch(1);
        private final Thread hook;

        /** {@code waitSeconds}: how long the hook waits for the job to stop ({@link CliEnvironment#cancelWaitSeconds()}). */
        CtrlC(ConsoleProgress progress, long waitSeconds) {
            hook = new Thread(() -> {
                System.err.println("\ntav: stopping after the current step (files stay complete)…");
                progress.cancel();
                try {
                    done.await(waitSeconds, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "tav-cancel");
            Runtime.getRuntime().addShutdownHook(hook);
        }

        @Override public void close() {
            done.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it returns now that the job has stopped
            }
        }
    }
}
