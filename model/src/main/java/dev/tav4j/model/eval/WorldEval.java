package dev.tav4j.model.eval;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.pipeline.TuneJob;
import dev.tav4j.model.pipeline.VideoLayout;
import dev.tav4j.model.tune.TrainableModules;
import dev.tav4j.model.tune.TuneCheckpoint;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.unet.UNetVariant;
import dev.tav4j.model.world.Sample;
import dev.tav4j.model.world.Split;
import dev.tav4j.model.world.World;
import dev.tav4j.model.world.WorldMetrics;
import dev.tav4j.model.world.WorldVideo;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The paper's ablations on the procedural world, scored without CLIP ({@link WorldMetrics}): for each held-out
 * source clip ({@link Split#EVAL}, deterministic from a seed) and each {@link Variant}, a fresh pipeline is loaded
 * from the model folder, tuned on the clip's caption (unless the variant skips it), the clip is DDIM-inverted (or
 * random noise is drawn instead), edited by a prompt that changes one attribute ({@link WorldEdits}), and the same
 * start is also sampled with the source caption: the reconstruction whose PSNR is reported. docs/eval.md has the
 * definitions and the measured table.
 */
public final class WorldEval {
    /** A row of the ablation table: what the method does and with which UNet. */
    public enum Variant {
        FULL("full", "full method", true, true, UNetVariant.DEFAULT),
        NO_TUNING("no-tuning", "w/o one-shot tuning", false, true, UNetVariant.DEFAULT),
        NO_INVERSION("no-inversion", "w/o DDIM inversion", true, false, UNetVariant.DEFAULT),
        NO_TEMPORAL("no-temporal", "w/o temporal attention", true, true, UNetVariant.DEFAULT.withTemporalAttention(false)),
        FULL_ATTENTION("full-attention", "full attention", true, true, UNetVariant.DEFAULT.withFrameAttention(UNetVariant.FrameAttention.FULL)),
        CAUSAL_ATTENTION("causal-attention", "causal attention", true, true, UNetVariant.DEFAULT.withFrameAttention(UNetVariant.FrameAttention.CAUSAL));

        private final String key, label;
        private final boolean tune, invert;
        private final UNetVariant unet;

        Variant(String key, String label, boolean tune, boolean invert, UNetVariant unet) {
            this.key = key;
            this.label = label;
            this.tune = tune;
            this.invert = invert;
            this.unet = unet;
        }

        /** The name on the command line and in the JSON. */
        public String key() { return key; }

        /** The name in the table and the chart. */
        public String label() { return label; }

        public boolean tune() { return tune; }

        public boolean invert() { return invert; }

        public UNetVariant unet() { return unet; }

        public static Variant ofKey(String key) {
            for (Variant v : values()) if (v.key.equals(key)) return v;
            throw new IllegalArgumentException("unknown variant '" + key + "' (one of " + keys() + ")");
        }

        public static String keys() {
            return Arrays.stream(values()).map(Variant::key).collect(Collectors.joining(", "));
        }
    }

    /**
     * The method's settings: tuning steps and learning rate (AdamW otherwise as the official tuning), DDIM steps of the
     * inversion and of the editing, classifier-free guidance, and the seed of the tuning noise and of the random start.
     */
    public record Method(int tuneSteps, float learningRate, int steps, float guidance, long seed) {
        public Method {
            if (tuneSteps < 1) throw new IllegalArgumentException("tuning steps must be at least 1, got " + tuneSteps);
            if (steps < 1) throw new IllegalArgumentException("DDIM steps must be at least 1, got " + steps);
            if (!(learningRate > 0) || !Float.isFinite(learningRate)) throw new IllegalArgumentException("the learning rate must be positive, got " + learningRate);
            if (!(guidance >= 1) || !Float.isFinite(guidance)) throw new IllegalArgumentException("guidance must be at least 1, got " + guidance);
        }

        /**
         * The official settings scaled to the world (500 steps at 3e-5 tune the 860 M-parameter SD UNet; the world's
         * UNet is ~100× smaller, trained at 5e-4, so fewer steps at a larger rate; 50 DDIM steps become 20; guidance
         * 12.5 as the official configs). Chosen, not yet calibrated on the shipped model.
         */
        public static Method defaults() { return new Method(40, 3e-4f, 20, 12.5f, 33); }

        public Method withTuneSteps(int n) { return new Method(n, learningRate, steps, guidance, seed); }

        public Method withSteps(int n) { return new Method(tuneSteps, learningRate, n, guidance, seed); }

        public Method withLearningRate(float lr) { return new Method(tuneSteps, lr, steps, guidance, seed); }

        public Method withGuidance(float g) { return new Method(tuneSteps, learningRate, steps, g, seed); }
    }

    /** A run: how many held-out clips of how many frames, the world's seed, the method, and the rows. */
    public record Settings(int clips, int frames, long seed, Method method, List<Variant> variants) {
        public Settings {
            if (clips < 1) throw new IllegalArgumentException("clips must be at least 1, got " + clips);
            if (frames < 2) throw new IllegalArgumentException("frames must be at least 2 (motion needs two), got " + frames);
            if (variants.isEmpty()) throw new IllegalArgumentException("no variants");
            variants = List.copyOf(variants);
        }
    }

    /** One clip under one variant: the source, the edit, its scores (PSNR: the reconstruction's) and the seconds it took. */
    public record ClipResult(Variant variant, int clip, long index, String source, WorldEdits.Edit edit, WorldMetrics.Scores scores,
                             double seconds) {}

    /** Mean and sample standard deviation of the finite values ({@code n} of them; NaN when none). */
    public record Stat(double mean, double sd, int n) {
        public static Stat of(double[] values) {
            double[] v = Arrays.stream(values).filter(Double::isFinite).toArray();
            if (v.length == 0) return new Stat(Double.NaN, Double.NaN, 0);
            double m = Arrays.stream(v).average().orElseThrow(), ss = 0;
            for (double x : v) ss += (x - m) * (x - m);
            return new Stat(m, v.length > 1 ? Math.sqrt(ss / (v.length - 1)) : 0, v.length);
        }
    }

    /** The row of a variant: each metric over the clips. */
    public record Summary(Variant variant, int clips, Stat editAccuracy, Stat motionFidelity, Stat backgroundConsistency, Stat psnr, double seconds) {}

    /** Everything a run measured. */
    public record Report(Path model, Settings settings, List<ClipResult> results) {
        public List<Summary> summaries() {
            List<Summary> out = new ArrayList<>();
            for (Variant v : settings.variants()) {
                List<ClipResult> r = results.stream().filter(c -> c.variant() == v).toList();
                out.add(new Summary(v, r.size(), stat(r, s -> s.editAccuracy()), stat(r, s -> s.motionFidelity()),
                        stat(r, s -> s.backgroundConsistency()), stat(r, s -> s.psnr()), r.stream().mapToDouble(ClipResult::seconds).sum()));
            }
            return out;
        }

        private static Stat stat(List<ClipResult> r, java.util.function.ToDoubleFunction<WorldMetrics.Scores> f) {
            return Stat.of(r.stream().mapToDouble(c -> f.applyAsDouble(c.scores())).toArray());
        }

        public Summary summary(Variant v) {
            return summaries().stream().filter(s -> s.variant() == v).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no row for " + v.key()));
        }
    }

    /** A source edited by each prompt under one variant, the reconstruction (the source caption from the same start), and the scores. */
    public record Outcome(List<WorldVideo> edits, WorldVideo reconstruction, List<WorldMetrics.Scores> scores, float lastLoss) {}

    private WorldEval() {}

    /**
     * The frame size a pipeline folder works at (its UNet's sample_size × the VAE's downscale), after checking that
     * the folder opens: a wrong folder fails here, before anything is computed.
     */
    public static int frameSize(Path model) {
        CheckpointDir c = CheckpointDir.open(model);
        int size = c.unetConfig().sampleSize() * (1 << (c.vaeConfig().blockOutChannels().length - 1));
        if (size < 16) throw new IllegalArgumentException(model + ": the model makes " + size + "x" + size + " frames; the world needs at least 16x16");
        return size;
    }

    /** The held-out source clip {@code clip} of a run and its edit (the edit kinds take turns: shape, colour, background). */
    public static Sample source(int size, int frames, long seed, int clip) {
        return new World(size, size, frames).sample(seed, clip, Split.EVAL);
    }

    public static WorldEdits.Edit editOf(Sample s, long seed, int clip) {
        WorldEdits.Kind kind = WorldEdits.Kind.values()[clip % WorldEdits.Kind.values().length];
        return WorldEdits.of(s.scene(), kind, seed * 7919 + clip);
    }

    /** Runs every clip under every variant; {@code each} hears each result as it comes. {@code work} holds the tuning runs' files. */
    public static Report run(Ops ops, Path model, Settings s, Path work, Progress progress, Consumer<ClipResult> each) {
        int size = frameSize(model);
        List<ClipResult> results = new ArrayList<>();
        for (int c = 0; c < s.clips(); c++) {
            Sample src = source(size, s.frames(), s.seed(), c);
            WorldEdits.Edit edit = editOf(src, s.seed(), c);
            for (Variant v : s.variants()) {
                long t0 = System.nanoTime();
                Outcome o = run(ops, model, src, List.of(edit.prompt()), v, s.method(), work.resolve("tune-" + v.key() + "-" + c), progress);
                ClipResult r = new ClipResult(v, c, src.index(), src.caption(), edit, o.scores().getFirst(), (System.nanoTime() - t0) / 1e9);
                results.add(r);
                each.accept(r);
            }
        }
        return new Report(model, s, List.copyOf(results));
    }

    /**
     * One source under one variant: a fresh pipeline (the tuning changes its UNet), tuned on the source's caption
     * when the variant tunes (files under {@code tuneDir}, deleted after), the start latents (DDIM inversion of the
     * VAE posterior means, as {@code tav edit} inverts, or Gaussian noise of the method's seed), each prompt sampled
     * from them, and the source caption too: the reconstruction.
     */
    public static Outcome run(Ops ops, Path model, Sample src, List<String> prompts, Variant v, Method m, Path tuneDir, Progress progress) {
        WorldVideo video = src.video();
        int frames = video.frames();
        TuneSettings ts = tuneSettings(v, m);
        CheckpointDir ckpt = CheckpointDir.open(model);
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, ckpt, null,
                v.tune() ? TrainableModules.matcher(ts.trainableModules()) : name -> false, null, w -> {}, List.of(), v.unet());
             Tensor pixels = video.toPixels()) {
            float loss = Float.NaN;
            if (v.tune()) {
                try {
                    loss = TuneJob.run(p, pixels, new TuneJob.Spec(tuneDir, src.caption(), m.tuneSteps(), ts, m.seed(), 0, null, false, 8),
                            progress).lastLoss();
                } finally {
                    delete(tuneDir);
                }
            }
            try (Tensor start = v.invert() ? invert(p, pixels, frames, m, progress) : noise(p, video, m)) {
                List<WorldVideo> edits = new ArrayList<>();
                for (String prompt : prompts) edits.add(sample(p, start, frames, prompt, m, progress));
                WorldVideo rec = sample(p, start, frames, src.caption(), m, progress);
                List<WorldMetrics.Scores> scores = new ArrayList<>();
                for (int i = 0; i < prompts.size(); i++) scores.add(WorldMetrics.evaluate(src, edits.get(i), prompts.get(i), rec));
                return new Outcome(List.copyOf(edits), rec, List.copyOf(scores), loss);
            }
        }
    }

    /** The tuning hyper-parameters of a variant: the official ones at the method's rate; without temporal attention its layers do not train. */
    public static TuneSettings tuneSettings(Variant v, Method m) {
        TuneSettings ts = TuneSettings.defaults().withLearningRate(m.learningRate());
        if (!v.unet().temporalAttention())
            ts = ts.withTrainableModules(ts.trainableModules().stream().filter(s -> !s.equals("attn_temp")).toList());
        return ts;
    }

    private static Tensor invert(TuneAVideoPipeline p, Tensor pixels, int frames, Method m, Progress progress) {
        try (Tensor z = p.encodeVideoMean(pixels)) {
            return p.invert(z, frames, m.steps(), progress);
        }
    }

    private static Tensor noise(TuneAVideoPipeline p, WorldVideo video, Method m) {
        int s = p.vaeScale();
        try (Tensor n = new Gaussian(m.seed()).tensor(1, p.unet().config().inChannels(), video.frames(), video.height() / s, video.width() / s)) {
            return VideoLayout.toFrames(p.ops(), n);
        }
    }

    private static WorldVideo sample(TuneAVideoPipeline p, Tensor start, int frames, String prompt, Method m, Progress progress) {
        try (Tensor z = p.edit(start, frames, prompt, m.steps(), m.guidance(), progress); Tensor rgb = p.decode(z)) {
            return WorldVideo.ofRgb01(rgb);
        }
    }

    private static void delete(Path dir) {
        try {
            TuneCheckpoint.deleteRecursively(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The table: one row per variant, mean ± standard deviation over the clips. */
    public static String table(Report r) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-24s %5s %15s %15s %15s %15s %8s%n", "variant", "clips", "edit accuracy", "motion fidelity",
                "bg consistency", "recon PSNR dB", "seconds"));
        for (Summary s : r.summaries())
            b.append(String.format(Locale.ROOT, "%-24s %5d %15s %15s %15s %15s %8.1f%n", s.variant().label(), s.clips(),
                    pm(s.editAccuracy(), 3), pm(s.motionFidelity(), 3), pm(s.backgroundConsistency(), 3), pm(s.psnr(), 2), s.seconds()));
        return b.toString();
    }

    private static String pm(Stat s, int digits) {
        if (s.n() == 0) return "n/a";
        return String.format(Locale.ROOT, "%." + digits + "f ± %." + digits + "f", s.mean(), s.sd());
    }
}
