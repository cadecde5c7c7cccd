package dev.tav4j.model.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.clip.ClipTextEncoder;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.config.VaeConfig;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.text.ClipTokenizer;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.model.unet.UNetVariant;
import dev.tav4j.model.vae.PosteriorSampler;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.model.world.Sample;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.function.Consumer;

/**
 * {@code tav pretrain}: trains a complete small Stable Diffusion from scratch on the procedural world, every trainable
 * parameter on the tape, and writes it as a diffusers folder that {@code TuneAVideoPipeline.load} reads.
 *
 * <ol>
 *   <li><b>Text encoder</b>: CLIP's text transformer on CLIP's real BPE vocabulary, random and <i>frozen</i> (see
 *       docs/pretrain.md for why); written once, deterministic from the seed.</li>
 *   <li><b>Stage vae</b>: an AutoencoderKL (SD's architecture, narrower) trained on the world's stills with
 *       {@link VaeObjective}; then its latent scaling factor is measured (1 / the standard deviation of posterior
 *       samples of stills no step saw, as LDM chose 0.18215) and vae/ is written.</li>
 *   <li><b>Stage unet</b>: an SD-topology UNet inflated to Tune-A-Video's UNet3D (sparse-causal and temporal
 *       attention) trained on the world's captioned videos with {@link DiffusionObjective} (ε-prediction at uniform
 *       timesteps of SD's schedule, VAE posterior samples of every frame, 10 % empty captions for classifier-free
 *       guidance); then unet/ is written.</li>
 * </ol>
 *
 * Each stage saves a resumable checkpoint every {@link PretrainConfig#checkpointEvery()} steps under
 * {@code OUT/checkpoints/<stage>/}, logs every step to {@code OUT/logs/<stage>.csv} and records its outcome in
 * {@code OUT/pretrain.json}. Every batch and random number is a function of (seed, stage, step) ({@link WorldData}),
 * so a resumed run computes what an uninterrupted one would.
 */
public final class Pretrain {
    public static final String VAE = "vae", UNET = "unet";

    public enum Stage { VAE, UNET, ALL }

    /**
     * @param out        the output folder
     * @param stage      what to train
     * @param config     sizes and schedules
     * @param seed       the run's seed
     * @param resume     continue from the newest checkpoint of each stage (else a stage with checkpoints is refused)
     * @param cudaGraphs capture each step as a CUDA graph where the backend can
     * @param command    the command line, recorded in pretrain.json
     * @param saved      how the folder's weights are stored: F32, or F16/BF16 for a folder half the size (the
     *                   checkpoints, which resume from, are F32 always)
     */
    public record Options(Path out, Stage stage, PretrainConfig config, long seed, boolean resume, boolean cudaGraphs, String command,
                          DType saved) {
        public Options(Path out, Stage stage, PretrainConfig config, long seed, boolean resume, boolean cudaGraphs, String command) {
            this(out, stage, config, seed, resume, cudaGraphs, command, DType.F32);
        }
    }

    /** What a stage did: steps run now (from {@code fromStep} to {@code toStep}), mean losses of the first and last tenth, wall time per step. */
    public record StageResult(String stage, long parameters, int fromStep, int toStep, double firstLoss, double lastLoss,
                              double secondsPerStep, Path written, String samples) {}

    private final Ops ops;
    private final Options o;
    private final PretrainConfig cfg;
    private final Progress progress;
    private final Consumer<String> log;
    private final WorldData data;

    public Pretrain(Ops ops, Options options, Progress progress, Consumer<String> log) {
        this.ops = ops;
        this.o = options;
        this.cfg = options.config();
        this.progress = progress;
        this.log = log;
        this.data = new WorldData(cfg, options.seed());
        cfg.check();
    }

    /**
     * Checks, before anything is computed or written, that {@code options} can run: the folder is new or empty or holds
     * this run (seed and sizes), a UNet stage alone finds a trained VAE, and a stage with checkpoints runs only with
     * {@code resume}. Throws {@link IllegalStateException} saying what to do.
     */
    public static void preflight(Options o) {
        o.config().check();
        Path file = o.out().resolve("pretrain.json");
        if (Files.isRegularFile(file)) {
            JsonNode m = Json.read(file);
            PretrainConfig had = PretrainConfig.fromJson(m.path("config"));
            if (m.path("seed").asLong() != o.seed() || !had.architectureKey().equals(o.config().architectureKey()))
                throw new IllegalStateException(o.out() + " holds another pretraining run (seed " + m.path("seed").asLong()
                        + ", sizes " + had.architectureKey() + "): choose another --out");
        } else if (Files.exists(o.out())) {
            try (var s = Files.list(o.out())) {
                if (s.findAny().isPresent())
                    throw new IllegalStateException(o.out() + " exists and is not a tav pretrain folder: choose a new or empty --out");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (o.stage() == Stage.UNET && !Files.isRegularFile(o.out().resolve("vae/config.json")))
            throw new IllegalStateException(o.out() + " has no trained VAE (vae/config.json): run --stage vae (or all) first");
        if (!o.resume()) {
            for (String stage : o.stage() == Stage.ALL ? List.of(VAE, UNET) : List.of(o.stage() == Stage.VAE ? VAE : UNET)) {
                Optional<Path> last = TrainCheckpoint.latest(o.out().resolve("checkpoints").resolve(stage));
                if (last.isPresent())
                    throw new IllegalStateException(o.out() + " already has " + stage + " checkpoints (" + last.get().getFileName()
                            + "): pass --resume to continue that run, or choose another --out");
            }
        }
    }

    public List<StageResult> run() {
        preflight(o);
        ObjectNode manifest = openManifest();
        List<StageResult> results = new ArrayList<>();
        try (ClipTextEncoder text = new ClipTextEncoder(ops, cfg.text(), new RandomWeights("text_encoder", o.seed()))) {
            PretrainedFolder.writeFixedParts(o.out(), text, o.saved());
        }
        if (o.stage() != Stage.UNET) {
            StageResult r = trainVae();
            results.add(r);
            record(manifest, r);
        }
        if (o.stage() != Stage.VAE) {
            StageResult r = trainUnet();
            r = new StageResult(r.stage(), r.parameters(), r.fromStep(), r.toStep(), r.firstLoss(), r.lastLoss(), r.secondsPerStep(),
                    r.written(), unetSamples());
            results.add(r);
            record(manifest, r);
        }
        return results;
    }

    // ------------------------------------------------------------------------------------------------ the VAE

    private StageResult trainVae() {
        try (Vae vae = new Vae(ops, cfg.vae(1f), new RandomWeights("vae", o.seed() + 1), name -> true);
             Trainer t = new Trainer(vae.params(), new VaeObjective(vae, cfg.klWeight()), Trainer.Settings.defaults(cfg.vaeLr()))) {
            t.cudaGraphs(o.cudaGraphs());
            int lat = cfg.latentSize(), b = cfg.vaeBatch();
            StageResult r = loop(VAE, t, cfg.vaeSteps(), cfg.vaeLr(), step -> {
                Trainer.Batch batch = new Trainer.Batch();
                batch.data(VaeObjective.PIXELS, data.stills(step, b));
                batch.data(VaeObjective.NOISE, data.random(VAE, step).tensor(b, lat, lat, 4));
                return batch;
            });
            float scaling = scalingFactor(vae);
            log.accept(String.format(Locale.ROOT, "vae: latent scaling factor %.5f (1 / std of posterior samples of 64 unseen stills)", scaling));
            PretrainedFolder.writeVae(o.out(), cfg.vae(scaling), vae.params(), t, o.saved());
            Path png = o.out().resolve("samples/vae-reconstructions.png");
            double psnr = PretrainSamples.vae(ops, vae, data, 8, png);
            String samples = String.format(Locale.ROOT, "%s: 8 unseen stills above, their reconstructions below, PSNR %.1f dB", o.out().relativize(png), psnr);
            log.accept("vae: " + samples);
            return new StageResult(r.stage(), r.parameters(), r.fromStep(), r.toStep(), r.firstLoss(), r.lastLoss(), r.secondsPerStep(),
                    o.out().resolve("vae"), samples);
        }
    }

    /** 1 / the standard deviation of posterior samples of stills no step drew (LDM's choice of SD's 0.18215). */
    private float scalingFactor(Vae vae) {
        int n = 64, lat = cfg.latentSize();
        try (Tensor host = data.heldStills(n); Tensor px = ops.upload(host); Vae.Posterior post = vae.encode(px);
             PosteriorSampler s = new PosteriorSampler(ops, post, 1f); Tensor eps = data.random("scaling", 0).tensor(n, lat, lat, 4);
             Tensor z = s.sample(eps); Tensor h = ops.download(z)) {
            double sum = 0, sq = 0;
            for (long i = 0; i < h.size(); i++) {
                double v = h.get(i);
                sum += v;
                sq += v * v;
            }
            double mean = sum / h.size(), std = Math.sqrt(Math.max(sq / h.size() - mean * mean, 1e-12));
            return (float) (1 / std);
        }
    }

    // ------------------------------------------------------------------------------------------------ the UNet

    private StageResult trainUnet() {
        CheckpointDir ckpt = CheckpointDir.open(o.out());
        VaeConfig vcfg = ckpt.vaeConfig();
        ClipTokenizer tok = ckpt.tokenizer();
        NoiseSchedule schedule = new NoiseSchedule(SchedulerConfig.defaults());
        int f = cfg.frames(), b = cfg.unetBatch(), lat = cfg.latentSize();
        try (Weights vw = ckpt.weights("vae"); Weights tw = ckpt.weights("text_encoder")) {
            try (Vae vae = new Vae(ops, vcfg, vw); ClipTextEncoder text = new ClipTextEncoder(ops, ckpt.textConfig(), tw);
                 // frames 1: a text-to-image UNet as SD's, trained without its temporal layers and written 2D
                 UNet3D unet = UNetLoader.build(ops, cfg.unet(), new RandomWeights("unet", o.seed() + 2), null, o.seed() + 3, name -> true,
                         dev.tav4j.model.io.Lora.NONE, UNetVariant.DEFAULT.withTemporalAttention(!cfg.textToImage()));
                 Trainer t = new Trainer(unet.params(), new DiffusionObjective(unet, f), Trainer.Settings.defaults(cfg.unetLr()))) {
                t.cudaGraphs(o.cudaGraphs());
                StageResult r = loop(UNET, t, cfg.unetSteps(), cfg.unetLr(), step -> {
                    List<Sample> videos = data.videos(step, b);
                    Gaussian g = data.random(UNET, step);
                    Trainer.Batch batch = new Trainer.Batch();
                    try (Tensor host = data.pixels(videos); Tensor px = ops.upload(host); Vae.Posterior post = vae.encode(px);
                         PosteriorSampler s = new PosteriorSampler(ops, post, vcfg.scalingFactor()); Tensor eps = g.tensor(b * f, lat, lat, 4);
                         Tensor z = s.sample(eps)) {
                        batch.data(DiffusionObjective.LATENTS, ops.download(z));
                    }
                    int[][] ids = new int[b][];
                    float[] coef = new float[2 * b], ts = new float[b];
                    for (int i = 0; i < b; i++) {
                        boolean drop = g.uniform(0, 1) < cfg.uncondProb();
                        ids[i] = tok.encode(drop ? "" : videos.get(i).caption());
                        int tt = g.nextInt(schedule.trainTimesteps());
                        float ac = schedule.alphaCumprod(tt);
                        coef[2 * i] = (float) Math.sqrt(ac);
                        coef[2 * i + 1] = (float) Math.sqrt(1 - ac);
                        ts[i] = tt;
                    }
                    try (Tensor e = text.encode(ids)) {
                        batch.data(DiffusionObjective.TEXT, ops.download(e));
                    }
                    batch.data(DiffusionObjective.NOISE, g.tensor(b * f, lat, lat, 4));
                    batch.scalars(DiffusionObjective.COEFFICIENTS, coef);
                    batch.scalars(DiffusionObjective.TIMESTEPS, ts);
                    return batch;
                });
                if (cfg.textToImage()) PretrainedFolder.writeImageUnet(o.out(), unet.config(), unet.params(), t, o.saved());
                else PretrainedFolder.writeUnet(o.out(), unet.config(), unet.params(), t, o.saved());
                return new StageResult(r.stage(), r.parameters(), r.fromStep(), r.toStep(), r.firstLoss(), r.lastLoss(), r.secondsPerStep(),
                        o.out().resolve("unet"), null);
            }
        }
    }

    /** Clips for four captions of unseen training videos, generated through the written folder (guided DDIM, 25 steps). */
    private String unetSamples() {
        Path gif = o.out().resolve("samples/unet-samples.gif");
        List<String> captions = PretrainSamples.captions(data.heldVideos(4));
        PretrainSamples.unet(ops, o.out(), captions, cfg.frames(), cfg.latentSize(), 25, 7.5f, o.seed(), gif);
        String s = o.out().relativize(gif) + ": " + String.join(" | ", captions) + " (DDIM 25 steps, guidance 7.5)";
        log.accept("unet: " + s);
        return s;
    }

    // ------------------------------------------------------------------------------------------------ the loop

    @FunctionalInterface
    private interface Batches {
        Trainer.Batch at(int step);
    }

    /** Linear warm-up to {@code peak}, then a cosine down to a tenth of it at the last step. */
    static float learningRate(int step, int total, int warmup, float peak) {
        int w = Math.max(1, Math.min(warmup, total / 5));
        if (step < w) return peak * (step + 1) / w;
        double p = total - w <= 1 ? 1 : (double) (step - w) / (total - w - 1);
        return (float) (peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, p)))));
    }

    private StageResult loop(String stage, Trainer t, int total, float peak, Batches batches) {
        Path dir = o.out().resolve("checkpoints").resolve(stage);
        Optional<Path> last = TrainCheckpoint.latest(dir);
        if (last.isPresent()) {
            if (!o.resume()) throw new IllegalStateException(o.out() + " already has " + stage + " checkpoints: pass --resume");
            JsonNode state = TrainCheckpoint.restore(last.get(), t);
            if (!cfg.architectureKey().equals(PretrainConfig.fromJson(state.path("config")).architectureKey()) || state.path("seed").asLong() != o.seed())
                throw new IllegalStateException(last.get() + " was written by another run (seed or configuration differ)");
            log.accept(String.format(Locale.ROOT, "%s: resumed from %s (step %d of %d)", stage, last.get().getFileName(), t.steps(), total));
        }
        log.accept(String.format(Locale.ROOT, "%s: %,d parameters, all trained; %d steps", stage, t.parameterCount(), total));
        CsvLog csv = new CsvLog(o.out().resolve("logs").resolve(stage + ".csv"), t.steps());
        int from = t.steps();
        List<Float> losses = new ArrayList<>();
        long trainNanos = 0;
        int timed = 0;
        for (int step = from; step < total; step++) {
            long t0 = System.nanoTime(), c0 = cpuNanos();
            Trainer.StepResult r;
            double dataSeconds;
            try (Trainer.Batch batch = batches.at(step)) {
                dataSeconds = (System.nanoTime() - t0) / 1e9;
                r = t.step(batch, learningRate(step, total, cfg.warmup(), peak));
            }
            long dt = System.nanoTime() - t0, dc = cpuNanos() - c0;
            if (step > from) {  // the first step builds buffers (and on a GPU captures nothing yet): not timed
                trainNanos += dt;
                timed++;
            }
            losses.add(r.loss());
            csv.append(step + 1, r, dt / 1e9, dataSeconds, dc / 1e9);
            progress.metric("loss", r.loss());
            for (Map.Entry<String, Float> e : r.terms().entrySet()) progress.metric(e.getKey(), e.getValue());
            if (r.skipped()) progress.event(stage, step + 1, "skipped: non-finite gradients (loss scale " + t.lossScaler().scale() + ")");
            progress.step(stage, step + 1, total);
            boolean end = step + 1 == total, cancel = progress.cancelled();
            if (end || cancel || (step + 1) % cfg.checkpointEvery() == 0) TrainCheckpoint.save(dir, t, checkpointState(r.loss()));
            if (cancel && !end) throw new CancellationException(stage + " stopped at step " + (step + 1) + "; continue with --resume");
        }
        if (from == total && TrainCheckpoint.latest(dir).isEmpty()) TrainCheckpoint.save(dir, t, checkpointState(Float.NaN));
        int tenth = Math.max(1, losses.size() / 10);
        return new StageResult(stage, t.parameterCount(), from, total, mean(losses, 0, tenth), mean(losses, losses.size() - tenth, losses.size()),
                timed == 0 ? Double.NaN : trainNanos / 1e9 / timed, null, null);
    }

    /** CPU time of the whole process so far (every thread; -1 where the platform does not say). */
    private static long cpuNanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : -1;
    }

    private static double mean(List<Float> v, int from, int to) {
        if (v.isEmpty()) return Double.NaN;
        double s = 0;
        for (int i = from; i < to; i++) s += v.get(i);
        return s / (to - from);
    }

    private ObjectNode checkpointState(float loss) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("seed", o.seed());
        n.set("config", cfg.toJson());
        if (Float.isFinite(loss)) n.put("loss", loss);
        return n;
    }

    // ------------------------------------------------------------------------------------------------ pretrain.json

    private Path manifestFile() { return o.out().resolve("pretrain.json"); }

    /** pretrain.json: refuses a folder of another run (seed or architecture), else starts or continues it. */
    private ObjectNode openManifest() {
        Path file = manifestFile();
        ObjectNode m;
        if (Files.isRegularFile(file)) {
            m = (ObjectNode) Json.read(file);  // preflight checked that it is this run
        } else {
            m = Json.MAPPER.createObjectNode();
            m.put("what", "a small Stable Diffusion (VAE, frozen random CLIP text encoder on CLIP's BPE, "
                    + (cfg.textToImage() ? "text-to-image UNet2DConditionModel" : "UNet3D") + ") trained from scratch "
                    + "on tav4j's procedural world by tav pretrain; see docs/pretrain.md");
            m.put("seed", o.seed());
            m.set("config", cfg.toJson());
            m.put("text_encoder", "CLIPTextModel, random and frozen: RandomWeights(\"text_encoder\", seed)");
            m.putObject("stages");
        }
        (m.get("commands") instanceof com.fasterxml.jackson.databind.node.ArrayNode a ? a : m.putArray("commands")).add(o.command());
        PretrainedFolder.writeJson(file, m);
        return m;
    }

    private void record(ObjectNode m, StageResult r) {
        ObjectNode stages = (ObjectNode) m.get("stages");
        JsonNode before = stages.path(r.stage());
        ObjectNode s = stages.putObject(r.stage());
        s.put("steps", r.toStep());
        s.put("seed", o.seed());
        s.put("parameters", r.parameters());
        // a finished stage written again (another --save-precision) trains nothing: it keeps the training's figures
        if (Double.isFinite(r.lastLoss())) s.put("final_loss", r.lastLoss());
        else if (before.has("final_loss")) s.set("final_loss", before.get("final_loss"));
        if (Double.isFinite(r.secondsPerStep())) s.put("seconds_per_step", r.secondsPerStep());
        else if (before.has("seconds_per_step")) s.set("seconds_per_step", before.get("seconds_per_step"));
        s.put("device", ops.deviceInfo().name());
        if (r.samples() != null) s.put("samples", r.samples());
        s.put("finished", java.time.Instant.now().toString());
        PretrainedFolder.writeJson(manifestFile(), m);
    }

    /** The per-step log of a stage: one CSV line per step; on resume, lines after the restored step are dropped. */
    private static final class CsvLog {
        private final Path file;

        CsvLog(Path file, int keepUpTo) {
            this.file = file;
            try {
                Files.createDirectories(file.getParent());
                StringBuilder sb = new StringBuilder();
                if (Files.isRegularFile(file) && keepUpTo > 0) {
                    for (String line : Files.readAllLines(file)) {
                        int comma = line.indexOf(',');
                        if (line.startsWith("step") || (comma > 0 && Integer.parseInt(line.substring(0, comma)) <= keepUpTo))
                            sb.append(line).append('\n');
                    }
                }
                Files.writeString(file, sb.toString());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
            }
        }

        void append(int step, Trainer.StepResult r, double seconds, double dataSeconds, double cpuSeconds) {
            try {
                boolean header = Files.size(file) == 0;
                StringBuilder sb = new StringBuilder();
                if (header) {
                    sb.append("step,loss");
                    for (String k : r.terms().keySet()) sb.append(',').append(k);
                    sb.append(",grad_norm,lr,seconds,data_seconds,cpu_seconds,skipped\n");
                }
                sb.append(step).append(',').append(r.loss());
                for (float v : r.terms().values()) sb.append(',').append(v);
                sb.append(String.format(Locale.ROOT, ",%.5g,%.4g,%.3f,%.3f,%.3f,%d%n", r.gradNorm(), r.learningRate(), seconds, dataSeconds,
                        cpuSeconds, r.skipped() ? 1 : 0));
                Files.writeString(file, sb.toString(), java.nio.file.StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
            }
        }
    }
}
