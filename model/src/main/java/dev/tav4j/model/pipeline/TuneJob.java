package dev.tav4j.model.pipeline;

import dev.tav4j.model.config.Json;
import dev.tav4j.model.config.UNetConfigJson;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.nn.Param;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.tune.LoraTuning;
import dev.tav4j.model.tune.TuneCheckpoint;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.tune.Tuner;
import dev.tav4j.model.unet.TunedDelta;
import dev.tav4j.model.vae.PosteriorSampler;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.model.video.Frames;
import dev.tav4j.model.video.VideoGrid;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;

/**
 * The official train_tuneavideo.py loop on one video: tuning steps, checkpoints every N steps (and resume from the
 * latest), validation every N steps (DDIM inversion of the current latents, then each prompt edited into a GIF and
 * a grid of them), and at the end the tuned UNet in the official layout (a LoRA run: the adapters as a LoRA file,
 * {@value LoraTuning#FILE}). Every file appears atomically.
 * On a half-precision backend this is mixed-precision tuning ({@link Tuner}): a step with a non-finite gradient
 * is skipped, reported to {@link Progress#event} and counted in {@link Result#skippedSteps()}.
 */
public final class TuneJob {
    /** validation_data of the official configs (everySteps ≤ 0: no validation). */
    public record Validation(List<String> prompts, int steps, float guidance, boolean useInvLatent, int invSteps, int everySteps) {}

    /** What to run: output folder, prompt, max_train_steps, hyper-parameters, seed, checkpointing_steps (≤ 0: none). */
    public record Spec(Path outputDir, String prompt, int maxSteps, TuneSettings settings, long seed, int checkpointingSteps,
                       Validation validation, boolean resume, int fps, Map<String, String> run, boolean saveTrainableOnly) {
        /** A full save ({@code saveTrainableOnly}: OUT/unet as a delta over the checkpoint, see {@link TunedDelta}). */
        public Spec(Path outputDir, String prompt, int maxSteps, TuneSettings settings, long seed, int checkpointingSteps,
                    Validation validation, boolean resume, int fps, Map<String, String> run) {
            this(outputDir, prompt, maxSteps, settings, seed, checkpointingSteps, validation, resume, fps, run, false);
        }

        /** A spec whose checkpoints record no run identity. */
        public Spec(Path outputDir, String prompt, int maxSteps, TuneSettings settings, long seed, int checkpointingSteps,
                    Validation validation, boolean resume, int fps) {
            this(outputDir, prompt, maxSteps, settings, seed, checkpointingSteps, validation, resume, fps, Map.of());
        }
    }

    /**
     * Where the results are; {@code skippedSteps} steps had a non-finite gradient and changed nothing, and
     * {@code lossScale} is the loss scale at the end (1 unless fp16). A LoRA run ({@link TuneSettings#loraRank()})
     * writes {@code lora} ({@value LoraTuning#FILE}) and no unet/ ({@code unetDir} null); a full run the opposite.
     */
    public record Result(int steps, float lastLoss, Path unetDir, List<Path> samples, Path invLatents, int skippedSteps,
                         float lossScale, List<Path> checkpoints, Path lora) {}

    private TuneJob() {}

    /** pixels: host [F, H, W, 3] in [-1, 1]. */
    public static Result run(TuneAVideoPipeline p, Tensor pixels, Spec spec, Progress progress) {
        Ops ops = p.ops();
        int frames = pixels.dim(0);
        TuneSettings settings = spec.settings();
        if (settings.lora() && spec.saveTrainableOnly())
            throw new IllegalArgumentException("lora_rank with save_trainable_only: a LoRA run saves only its adapters ("
                    + LoraTuning.FILE + "), which is already the small result; use one of the two");
        // before anything is computed: a module LoRA cannot adapt, or a rank too large, is refused here
        if (settings.lora()) LoraTuning.attach(p.unet().params(), settings.loraRank(), settings.trainableModules(), spec.seed());
        mkdirs(spec.outputDir());
        List<Path> samples = new ArrayList<>();
        Path invLatents = null;
        try (Tensor dev = ops.upload(pixels); Vae.Posterior post = p.vae().encode(dev);
             PosteriorSampler sampler = new PosteriorSampler(ops, post, p.vae().config().scalingFactor());
             Tensor text = p.encodePrompt(spec.prompt());
             Tuner tuner = new Tuner(p.unet(), new NoiseSchedule(p.schedulerConfig()), spec.settings()).cudaGraphs(p.cudaGraphs())) {
            long seed = spec.seed();
            int start = 0;
            float loss = Float.NaN;
            List<Path> checkpoints = new ArrayList<>();
            if (spec.resume()) {
                var latest = TuneCheckpoint.latest(spec.outputDir());
                if (latest.isPresent()) {
                    seed = TuneCheckpoint.restore(latest.get(), tuner, p.unet().params());
                    start = tuner.steps();
                    loss = TuneCheckpoint.info(latest.get()).loss();  // the real last loss when nothing is left to do
                    System.err.println("resuming from " + latest.get() + " (step " + start + ")");
                }
            }
            Tensor latents = null;
            try {
                for (int step = start + 1; step <= spec.maxSteps(); step++) {
                    if (progress.cancelled()) throw new CancellationException("tuning cancelled after step " + (step - 1));
                    if (latents != null) latents.close();
                    StepNoise n = StepNoise.of(seed, step, sampler.shape(), p.schedulerConfig().numTrainTimesteps());
                    latents = sampler.sample(n.posterior());
                    Tuner.StepResult r;
                    try (n; Tensor noise = ops.upload(n.noise())) {
                        r = tuner.step(latents, noise, frames, new int[]{n.timestep()}, text);
                    }
                    loss = r.loss();
                    if (r.skipped())
                        progress.event("tune", step, String.format(java.util.Locale.ROOT,
                                "step %d skipped: non-finite gradient (grad norm %s, loss %s); loss scale %s -> %s, %d step(s) skipped so far",
                                step, r.gradNorm(), r.loss(), scale(r.lossScale()), scale(tuner.lossScaler().scale()), tuner.skippedSteps()));
                    progress.metric("loss", loss);
                    if (tuner.lossScaler().isDynamic()) progress.metric("scale", tuner.lossScaler().scale());
                    progress.step("tune", step, spec.maxSteps());
                    if (spec.checkpointingSteps() > 0 && step % spec.checkpointingSteps() == 0)
                        checkpoints.add(TuneCheckpoint.save(spec.outputDir(), tuner, p.unet().params(), seed, spec.run(), loss));
                    Validation v = spec.validation();
                    if (v != null && v.everySteps() > 0 && step % v.everySteps() == 0) {
                        invLatents = validate(p, latents, frames, v, step, spec, samples, progress);
                    }
                }
                if (latents == null) { // resumed at the end: the last step's latents come from its noise again
                    try (StepNoise n = StepNoise.of(seed, spec.maxSteps(), sampler.shape(), p.schedulerConfig().numTrainTimesteps())) {
                        latents = sampler.sample(n.posterior());
                    }
                }
                Path unetDir = settings.lora() ? null : saveUnet(p, tuner, spec.outputDir(), spec.saveTrainableOnly());
                Path lora = settings.lora() ? LoraTuning.save(spec.outputDir().resolve(LoraTuning.FILE), tuner) : null;
                return new Result(tuner.steps(), loss, unetDir, samples, invLatents, tuner.skippedSteps(), tuner.lossScaler().scale(),
                        List.copyOf(checkpoints), lora);
            } finally {
                if (latents != null) latents.close();
            }
        }
    }

    /** Inverts the current latents (if asked), edits each prompt, writes the GIFs and their grid. */
    private static Path validate(TuneAVideoPipeline p, Tensor latents, int frames, Validation v, int step, Spec spec,
                                 List<Path> samples, Progress progress) {
        Path inv = null;
        Tensor start;
        if (v.useInvLatent()) {
            start = p.invert(latents, frames, v.invSteps(), progress);
            inv = spec.outputDir().resolve("inv_latents").resolve("ddim_latent-" + step + ".safetensors");
            saveLatents(p, start, frames, inv);
        } else {
            try (Tensor noise = new Gaussian(spec.seed()).tensor(1, latents.dim(3), frames, latents.dim(1), latents.dim(2))) {
                start = VideoLayout.toFrames(p.ops(), noise);
            }
        }
        List<List<BufferedImage>> clips = new ArrayList<>();
        try (start) {
            Path dir = spec.outputDir().resolve("samples").resolve("sample-" + step);
            for (String prompt : v.prompts()) {
                try (Tensor edited = p.edit(start, frames, prompt, v.steps(), v.guidance(), progress); Tensor video = p.decode(edited)) {
                    List<BufferedImage> images = Frames.toImages(video);
                    Path gif = dir.resolve(safeName(prompt) + ".gif");
                    VideoOutput.write(gif, images, spec.fps());
                    samples.add(gif);
                    clips.add(images);
                }
            }
        }
        if (!clips.isEmpty()) {
            Path grid = spec.outputDir().resolve("samples").resolve("sample-" + step + ".gif");
            VideoOutput.write(grid, VideoGrid.validationGrid(clips), spec.fps());
            samples.add(grid);
        }
        return inv;
    }

    /** A prompt as a file name: the official code uses the prompt itself; '/' and control characters are replaced. */
    public static String safeName(String prompt) {
        String s = prompt.replaceAll("[/\\\\\\p{Cntrl}:*?\"<>|]", "_").strip();
        return s.isEmpty() ? "empty" : s.length() > 200 ? s.substring(0, 200) : s;
    }

    /** Inverted latents as safetensors, tensor "latents" (1, 4, F, h, w) — the input of tav generate --latents. */
    static void saveLatents(TuneAVideoPipeline p, Tensor latents, int frames, Path file) {
        mkdirs(file.getParent());
        try (Tensor bcfhw = VideoLayout.toBcfhw(p.ops(), latents, frames); Tensor host = p.ops().download(bcfhw)) {
            SafeTensorsWriter.write(file, Map.of("latents", host), Map.of("format", "pt"));
        }
    }

    private static String scale(float s) {
        return s == Math.rint(s) && Math.abs(s) < 1e9 ? String.valueOf((long) s) : String.valueOf(s);
    }

    /**
     * OUT/unet: config.json (UNet3DConditionModel) and every weight in PyTorch layout; the folder is renamed into place.
     * Trainable weights come from their fp32 masters; on a half-precision backend the frozen ones are read again from
     * the UNet's files where they are there (exact, not their bf16/f16 rounding; the fresh temporal norms, ones and
     * zeros, are exact either way).
     */
    static Path saveUnet(TuneAVideoPipeline p, Tuner tuner, Path out) {
        return saveUnet(p, tuner, out, false);
    }

    /**
     * As above; {@code delta}: only what the base checkpoint cannot give back — the trainable weights and the
     * weights its UNet lacks (the inflated temporal layers, norm_temp included though frozen) — with
     * {@value TunedDelta#FILE} naming the base by its hash ({@link TunedDelta}).
     */
    static Path saveUnet(TuneAVideoPipeline p, Tuner tuner, Path out, boolean delta) {
        Path dir = out.resolve("unet"), tmp = out.resolve(".unet.part");
        Map<String, Param> params = p.unet().params().all();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        CheckpointDir base = delta ? p.checkpoint() : null;
        if (delta && base == null) throw new IllegalStateException("a tuned delta needs the checkpoint the pipeline was loaded from");
        Set<String> baseNames;
        if (delta) {
            try (Weights w = base.weights("unet")) {
                baseNames = Set.copyOf(w.names());
            }
        } else {
            baseNames = Set.of();
        }
        params.values().forEach(prm -> {
            if (!delta || TunedDelta.holds(prm.name(), tuner.trainable().containsKey(prm.name()), baseNames))
                shapes.put(prm.name(), prm.torchShape());
        });
        boolean half = params.values().stream().anyMatch(prm -> prm.value().dtype() != DType.F32);
        try (Weights source = half ? p.reopenUnetWeights() : null) {
            TuneCheckpoint.deleteRecursively(tmp);
            Files.createDirectories(tmp);
            // one tensor in PyTorch layout at a time, written and closed before the next
            SafeTensorsWriter.writeEach(tmp.resolve("diffusion_pytorch_model.safetensors"), shapes, name -> {
                Param prm = params.get(name);
                if (tuner.trainable().containsKey(name)) return p.unet().params().toTorchLayout(prm, tuner.master(name));
                if (prm.value().dtype() != DType.F32 && source != null && source.has(name)) return source.load(name, prm.torchShape());
                return p.unet().params().toTorchLayout(prm);
            }, Map.of("format", "pt"));
            Files.writeString(tmp.resolve("config.json"), Json.MAPPER.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(UNetConfigJson.tuned(p.unet().config())));
            if (delta) TunedDelta.write(tmp, base, tuner.settings().trainableModules(), shapes.size());
            TuneCheckpoint.deleteRecursively(dir);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tuned UNet to " + dir + ": " + e.getMessage(), e);
        } finally {
            try {
                TuneCheckpoint.deleteRecursively(tmp);
            } catch (IOException ignored) {
                // never read
            }
        }
    }

    private static void mkdirs(Path dir) {
        try {
            Files.createDirectories(dir);
            if (!Files.isWritable(dir)) throw new IOException("not writable");
        } catch (IOException e) {
            throw new UncheckedIOException("output folder " + dir + " cannot be written: " + e.getMessage(), e);
        }
    }
}
