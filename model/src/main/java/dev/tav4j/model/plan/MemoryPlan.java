package dev.tav4j.model.plan;

import dev.tav4j.model.clip.ClipTextEncoder;
import dev.tav4j.model.config.ClipTextConfig;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.config.VaeConfig;
import dev.tav4j.model.pipeline.Ddim;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.sched.DdimScheduler;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.tune.TrainableModules;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.tune.Tuner;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.HostMemory;
import dev.tav4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * The peak memory a run will need, known before it loads anything: the models are built and each stage of the
 * command is run once on {@link PlanOps}, a backend that computes nothing and counts every byte the real one would
 * hold — the weights in the backend's precision, the exact fp32 copies, gradients and AdamW moments of the trainable
 * parameters when tuning, the tensors each op makes and the scope or tape keeps (so gradient checkpointing changes
 * what the tuning step holds exactly as it does in a real step), the backend's own temporaries, and on a device the
 * caching pool's block sizes and the blocks a captured step (CUDA graph) reserves. Nothing here is a fitted factor:
 * the live set comes out of the model code for the config, frames and latent size asked for. See docs/memory.md,
 * "The plan".
 *
 * <p>The estimate is checked against measured peaks: {@code MemoryPlanTest} runs the same stages on the cpu backend
 * (host tensor peak) and on the CUDA emulation (device pool peak).
 */
public final class MemoryPlan {
    /** Where a backend's tensors live. */
    public enum Target { HOST, DEVICE }

    /** The parts of a command that have a peak of their own, in the order commands run them. */
    public enum Stage {
        ENCODE("VAE encode", "encode"), TUNE("tuning step", "tune"), INVERT("DDIM inversion", "invert"),
        EDIT("guided DDIM (batch 2)", "edit"), DECODE("VAE decode", "decode");

        private final String label, key;

        Stage(String label, String key) {
            this.label = label;
            this.key = key;
        }

        public String label() { return label; }

        /** The name the benches use for the stage ("tune", "invert", "edit"), and "encode", "decode". */
        public String key() { return key; }

        /** The stage of a bench's name ("tune", "invert", "edit") or "encode", "decode". */
        public static Stage ofKey(String key) {
            for (Stage s : values()) if (s.key.equals(key)) return s;
            throw new IllegalArgumentException("unknown stage '" + key + "'; known: tune, invert, edit, encode, decode");
        }
    }

    /** JVM, code, tokenizer and small buffers beside the tensors (host). */
    public static final long JVM_BYTES = 768L << 20;
    /** Device memory outside the pool: cuBLAS workspaces, kernel images, graph executables, fragmentation. */
    public static final long DEVICE_HEADROOM_BYTES = 256L << 20;
    /** Steps of each loop simulated: eager, captured, replayed (a steady-state step on every backend). */
    static final int LOOP_STEPS = 3;
    /** Latent pixels (frames × h × w) beyond which only a lower bound is given (over a TiB: beyond any machine). */
    static final long MAX_LATENT_PIXELS = 1L << 30;
    /**
     * Latent pixels up to which the VAE encode is simulated as is; above, at fewer frames (and a smaller size) and
     * scaled up by the pixel ratio (its tensors all grow with frames × pixels), because the encoder's posterior is
     * split on the host: planning it as is would hold real host memory in proportion to the video.
     */
    static final long ENCODE_SIM_PIXELS = 1L << 18;

    /** The model's shapes; {@code vae} and {@code text} null: the UNet alone, as the benches run it. */
    public record Models(UNetConfig unet, VaeConfig vae, ClipTextConfig text) {
        public Models {
            if (unet == null) throw new IllegalArgumentException("the memory plan needs the UNet's config");
            if ((vae == null) != (text == null)) throw new IllegalArgumentException("the memory plan needs the VAE and the text encoder, or neither");
        }

        public static Models unetOnly(UNetConfig unet) { return new Models(unet, null, null); }

        /**
         * The shapes of a Stable Diffusion release from the configs built into tav4j for single-file checkpoints:
         * "sd15" (SD 1.5) or "sd21" (SD 2.1): UNet, VAE and text encoder.
         */
        public static Models builtin(String name) {
            if (!name.equals("sd15") && !name.equals("sd21")) throw new IllegalArgumentException("no built-in configs for '" + name + "' (sd15 or sd21)");
            String dir = "/dev/tav4j/model/io/builtin/" + name + "/";
            return new Models(UNetConfig.parse(builtinConfig(dir + "unet/config.json"), "built-in " + name + " unet config"),
                    VaeConfig.parse(builtinConfig(dir + "vae/config.json"), "built-in " + name + " vae config"),
                    ClipTextConfig.parse(builtinConfig(dir + "text_encoder/config.json"), "built-in " + name + " text_encoder config"));
        }

        private static com.fasterxml.jackson.databind.JsonNode builtinConfig(String resource) {
            try (java.io.InputStream in = MemoryPlan.class.getResourceAsStream(resource)) {
                if (in == null) throw new IllegalStateException("built-in config " + resource + " missing from the jar");
                return dev.tav4j.model.config.Json.MAPPER.readTree(in);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("built-in config " + resource + ": " + e.getMessage(), e);
            }
        }

        public boolean isUnetOnly() { return vae == null; }

        /** Pixels per latent pixel along each side (8 for Stable Diffusion; 8 for a UNet alone too). */
        public int vaeScale() { return vae == null ? 8 : 1 << (vae.blockOutChannels().length - 1); }
    }

    /**
     * What a command computes: {@code frames} frames of {@code height} × {@code width} pixels, the stages in order,
     * and the tuning settings (trainable modules, gradient checkpointing) when a stage tunes. Stages of a model part
     * the plan lacks (the VAE of a UNet alone) are left out. {@code trainableAtLoad}: the UNet is loaded knowing its
     * trainable parameters (tav tune: on a half-precision device their exact fp32 copies are made at load), or not
     * (the benches: the tuner makes its fp32 masters from the half weights).
     */
    public record Workload(int frames, int height, int width, List<Stage> stages, TuneSettings tuning, boolean trainableAtLoad) {
        /** A workload whose UNet is loaded knowing its trainable parameters when it tunes (as tav tune loads it). */
        public Workload(int frames, int height, int width, List<Stage> stages, TuneSettings tuning) {
            this(frames, height, width, stages, tuning, stages.contains(Stage.TUNE));
        }

        public Workload {
            if (frames < 1 || height < 1 || width < 1)
                throw new IllegalArgumentException("the memory plan needs at least one frame of one pixel, got " + frames + " frames of " + width + "x" + height);
            stages = List.copyOf(stages);
            if (stages.isEmpty()) throw new IllegalArgumentException("the memory plan needs at least one stage");
            if (stages.contains(Stage.TUNE) && tuning == null) throw new IllegalArgumentException("a tuning stage needs its settings");
        }

        /** tav generate: guided DDIM from noise (or latents), then decoding. */
        public static Workload generate(int frames, int height, int width) {
            return new Workload(frames, height, width, List.of(Stage.EDIT, Stage.DECODE), null);
        }

        /** tav edit: from a video (encode, invert) or from latents, then guided DDIM and decoding. */
        public static Workload edit(int frames, int height, int width, boolean fromVideo) {
            return new Workload(frames, height, width, fromVideo ? List.of(Stage.ENCODE, Stage.INVERT, Stage.EDIT, Stage.DECODE)
                    : List.of(Stage.EDIT, Stage.DECODE), null);
        }

        /** tav tune: encoding the video, the tuning steps, and a validation (inversion if asked, editing, decoding) if any. */
        public static Workload tune(int frames, int height, int width, TuneSettings settings, boolean validates, boolean invertsForValidation) {
            List<Stage> s = new ArrayList<>(List.of(Stage.ENCODE, Stage.TUNE));
            if (validates) {
                if (invertsForValidation) s.add(Stage.INVERT);
                s.add(Stage.EDIT);
                s.add(Stage.DECODE);
            }
            return new Workload(frames, height, width, s, settings);
        }

        /** tav bench pipeline: the UNet's inversion, editing and tuning steps on latents of latent × latent. */
        public static Workload bench(int frames, int latent, List<Stage> stages, TuneSettings settings) {
            return bench(frames, latent * 8, latent * 8, stages, settings);
        }

        /**
         * The same at height × width pixels: the stages in the bench's order (inversion, editing, tuning), each on
         * inputs of its own, released after it (a plan of a UNet alone runs its stages that way).
         */
        public static Workload bench(int frames, int height, int width, List<Stage> stages, TuneSettings settings) {
            List<Stage> order = List.of(Stage.INVERT, Stage.EDIT, Stage.TUNE).stream().filter(stages::contains).toList();
            if (order.size() != stages.size()) throw new IllegalArgumentException("the benches run tune, invert and edit, not " + stages);
            return new Workload(frames, height, width, order, settings, false);
        }

        public Workload withFrames(int f) { return new Workload(f, height, width, stages, tuning, trainableAtLoad); }

        public Workload withSize(int h, int w) { return new Workload(frames, h, w, stages, tuning, trainableAtLoad); }

        public Workload withTuning(TuneSettings t) { return new Workload(frames, height, width, stages, t, trainableAtLoad); }
    }

    /** The backend: where tensors live, their precision, and whether denoising and tuning steps are captured as CUDA graphs. */
    public record Backend(Target target, DType precision, boolean graphs) {
        public Backend {
            if (target == Target.HOST && precision != DType.F32) throw new IllegalArgumentException("the cpu backend computes in fp32 only, not " + precision);
            if (target == Target.HOST) graphs = false;
        }

        public static Backend cpu() { return new Backend(Target.HOST, DType.F32, false); }

        public static Backend cuda(DType precision, boolean graphs) { return new Backend(Target.DEVICE, precision, graphs); }

        public Backend withPrecision(DType p) { return new Backend(target, p, graphs); }

        /** "cpu" or "cuda (bf16)". */
        public String describe() {
            return target == Target.HOST ? "cpu" : "cuda (" + precisionName(precision) + (graphs ? "" : ", no CUDA graphs") + ")";
        }
    }

    /**
     * One stage: what was held when it started (weights, tuner state, inputs) and the peak while it ran, both
     * counted as the backend counts (device: the pool's bytes in use, rounded blocks and graph reservations included).
     */
    public record StagePeak(Stage stage, long heldBytes, long peakBytes) {
        /** What the stage itself adds at its peak: activations, the tape, the step's buffers. */
        public long activationBytes() { return peakBytes - heldBytes; }
    }

    private final Models models;
    private final Workload work;
    private final Backend backend;
    private final long weightBytes, loadPeakBytes;
    private final List<StagePeak> stages;
    private final long freeBytes;
    private final boolean bounded;  // a lower bound only (a shape beyond any machine, or one whose bytes overflow)

    private MemoryPlan(Models models, Workload work, Backend backend, long weightBytes, long loadPeakBytes, List<StagePeak> stages,
                       long freeBytes, boolean bounded) {
        this.models = models;
        this.work = work;
        this.backend = backend;
        this.weightBytes = weightBytes;
        this.loadPeakBytes = loadPeakBytes;
        this.stages = List.copyOf(stages);
        this.freeBytes = freeBytes;
        this.bounded = bounded;
    }

    // ---------------------------------------------------------------------------------------------- estimate

    /** The plan of {@code work} on {@code backend}; what is free is unknown until {@link #withFree}. */
    public static MemoryPlan estimate(Models models, Workload work, Backend backend) {
        List<Stage> stages = models.isUnetOnly()
                ? work.stages().stream().filter(s -> s != Stage.ENCODE && s != Stage.DECODE).toList() : work.stages();
        if (stages.isEmpty()) throw new IllegalArgumentException("the memory plan of a UNet alone has no " + work.stages() + " stage");
        int scale = models.vaeScale();
        int h = Math.max(1, work.height() / scale), w = Math.max(1, work.width() / scale);
        PlanOps ops = new PlanOps(backend.target(), backend.precision(), backend.graphs());
        Predicate<String> trainable = stages.contains(Stage.TUNE) && work.trainableAtLoad()
                ? TrainableModules.matcher(work.tuning().trainableModules()) : name -> false;
        ops.resetPeak();
        ClipTextEncoder text = null;
        Vae vae = null;
        UNet3D unet = null;
        try {
            if (!models.isUnetOnly()) {
                text = new ClipTextEncoder(ops, models.text(), new ShapeWeights(ops, "text_encoder"));
                vae = new Vae(ops, models.vae(), new ShapeWeights(ops, "vae"));
            }
            unet = new UNet3D(ops, models.unet(), new ShapeWeights(ops, "unet"), trainable);
            long weights = ops.inUse(), loadPeak = ops.peak();
            long latentPixels;
            try {
                latentPixels = Math.multiplyExact(Math.multiplyExact((long) work.frames(), h), w);
            } catch (ArithmeticException e) {
                latentPixels = Long.MAX_VALUE;
            }
            if (latentPixels > MAX_LATENT_PIXELS)
                return new MemoryPlan(models, work, backend, weights, loadPeak, lowerBounds(models, work, backend, stages, weights, h, w), -1, true);
            Run run = new Run(ops, models, work, backend, text, vae, unet, h, w);
            try {
                List<StagePeak> peaks = new ArrayList<>();
                for (Stage s : stages) {
                    ops.resetPeak();
                    long held = ops.inUse();
                    long scaled = run.stage(s);
                    peaks.add(new StagePeak(s, held, scaled >= 0 ? Math.max(scaled, ops.peak()) : ops.peak()));
                    if (models.isUnetOnly()) run.close();  // a bench: each stage on inputs of its own
                }
                return new MemoryPlan(models, work, backend, weights, loadPeak, peaks, -1, false);
            } finally {
                run.close();
            }
        } finally {
            if (unet != null) unet.close();
            if (vae != null) vae.close();
            if (text != null) text.close();
        }
    }

    /** Beyond any machine: each stage's peak bounded from below by two activations of the first level (saturating). */
    private static List<StagePeak> lowerBounds(Models m, Workload work, Backend b, List<Stage> stages, long weights, int h, int w) {
        List<StagePeak> out = new ArrayList<>();
        long e = b.precision().bytes();
        for (Stage s : stages) {
            double elems = switch (s) {
                case ENCODE -> (double) work.frames() * work.height() * work.width() * m.vae().blockOutChannels()[0];
                case DECODE -> (double) work.height() * work.width() * m.vae().blockOutChannels()[0];
                case EDIT -> 2.0 * work.frames() * h * w * m.unet().blockOutChannels()[0];
                default -> (double) work.frames() * h * w * m.unet().blockOutChannels()[0];
            };
            double bytes = 2 * elems * e + weights;
            out.add(new StagePeak(s, weights, bytes >= Long.MAX_VALUE / 2.0 ? Long.MAX_VALUE / 2 : (long) bytes));
        }
        return out;
    }

    /** The stages of a command, run in order on the plan's backend, holding what the real command holds between them. */
    private static final class Run implements AutoCloseable {
        private final PlanOps ops;
        private final Models models;
        private final Workload work;
        private final Backend backend;
        private final ClipTextEncoder text;
        private final Vae vae;
        private final UNet3D unet;
        private final int h, w, c;
        private final List<AutoCloseable> held = new ArrayList<>();
        private Tensor latents;  // the current latents [F, h, w, C]
        private Tensor videoPixels;  // tav edit: the clip on the host, until the inversion

        Run(PlanOps ops, Models models, Workload work, Backend backend, ClipTextEncoder text, Vae vae, UNet3D unet, int h, int w) {
            this.ops = ops;
            this.models = models;
            this.work = work;
            this.backend = backend;
            this.text = text;
            this.vae = vae;
            this.unet = unet;
            this.h = h;
            this.w = w;
            this.c = models.unet().inChannels();
        }

        /** Runs stage s; returns its peak when it was simulated at a smaller size and scaled up, else -1. */
        long stage(Stage s) {
            int f = work.frames();
            switch (s) {
                case ENCODE -> {
                    if ((long) f * h * w <= ENCODE_SIM_PIXELS) {
                        encode(f, work.height(), work.width(), true, true);
                        break;
                    }
                    // fewer frames (and, for a huge frame, a smaller one), scaled by the pixel ratio
                    int scale = models.vaeScale();
                    long hw = (long) h * w;
                    int f2 = (int) Math.max(1, Math.min(f, ENCODE_SIM_PIXELS / hw));
                    int k = hw <= ENCODE_SIM_PIXELS ? 1 : (int) Math.ceil(Math.sqrt(hw / (double) ENCODE_SIM_PIXELS));
                    int h2 = Math.max(scale, work.height() / k / scale * scale), w2 = Math.max(scale, work.width() / k / scale * scale);
                    double ratio = (double) f * work.height() * work.width() / ((double) f2 * h2 * w2);
                    long start = ops.inUse();
                    encode(f2, h2, w2, true, false);
                    long peak = start + (long) Math.min(Long.MAX_VALUE / 4.0, (ops.peak() - start) * ratio);
                    encode(f, work.height(), work.width(), false, true);  // what the command keeps after encoding, full size
                    return peak;
                }
                case TUNE -> {
                    Tensor prompt = prompt();
                    held.add(prompt);
                    Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()), work.tuning()).cudaGraphs(backend.graphs());
                    held.add(tuner);
                    for (int i = 0; i < LOOP_STEPS; i++) {
                        setLatents(uploaded(f, h, w, c));  // the posterior sample of the step (the last one stays)
                        try (Tensor hostNoise = ops.hostTensor(f, h, w, c); Tensor noise = ops.upload(hostNoise)) {
                            tuner.step(latents, noise, f, new int[]{1 + 300 * i}, prompt);
                        }
                    }
                }
                case INVERT -> {
                    if (latents == null) setLatents(uploaded(f, h, w, c));
                    try (Tensor empty = prompt()) {
                        setLatents(Ddim.invert(unet, new DdimScheduler(SchedulerConfig.defaults(), LOOP_STEPS), latents, f, empty,
                                LOOP_STEPS, Progress.NONE, backend.graphs()));
                    }
                    if (videoPixels != null) videoPixels.close();
                    videoPixels = null;
                }
                case EDIT -> {
                    if (latents == null) setLatents(uploaded(f, h, w, c));
                    try (Tensor cond = prompt(); Tensor uncond = prompt()) {
                        setLatents(Ddim.sample(unet, new DdimScheduler(SchedulerConfig.defaults(), LOOP_STEPS), latents, f, uncond, cond,
                                7.5f, Progress.NONE, backend.graphs()));
                    }
                }
                case DECODE -> {
                    // TuneAVideoPipeline.decode: the frames on the host, one latent frame scaled, each decoded and read back
                    if (latents == null) setLatents(uploaded(f, h, w, c));
                    try (Tensor frames = ops.hostTensor(f, work.height(), work.width(), 3); Tensor z = ops.allocate(1, h, w, c)) {
                        for (int i = 0; i < Math.min(f, 2); i++) {
                            try (Tensor img = vae.decode(z); Tensor back = ops.readBack(img)) {
                                back.size();
                            }
                        }
                        frames.size();
                    }
                }
            }
            return -1;
        }

        /**
         * The clip's pixels on the host, uploaded, encoded at once; TuneJob keeps the pixels, the upload and the
         * posterior for the whole job, tav edit the scaled mean only. {@code run} false: the posterior is allocated,
         * not computed; {@code keep} false: nothing is kept.
         */
        private void encode(int f, int height, int width, boolean run, boolean keep) {
            boolean tunes = work.stages().contains(Stage.TUNE);
            Tensor pixels = ops.hostTensor(f, height, width, 3);
            Tensor dev = ops.upload(pixels);
            int s = models.vaeScale(), lat = models.vae().latentChannels();
            Vae.Posterior post = run ? vae.encode(dev)
                    : new Vae.Posterior(ops.allocate(f, height / s, width / s, lat), ops.allocate(f, height / s, width / s, lat));
            if (keep && tunes) {
                held.add(pixels);
                held.add(dev);
                held.add(post);
                return;
            }
            if (keep) {
                setLatents(ops.allocate(post.mean().shape()));
                videoPixels = pixels;  // tav edit holds the clip's pixels until the inversion is done
            } else {
                pixels.close();
            }
            post.close();
            dev.close();
        }

        /** The text embedding of a prompt [1, 77, D]: encoded (a UNet alone: uploaded, as the benches do). */
        private Tensor prompt() {
            if (text != null) return text.encode(new int[1][models.text().maxPositions()]);
            try (Tensor host = ops.hostTensor(1, 77, models.unet().crossAttentionDim())) {
                return ops.upload(host);
            }
        }

        private Tensor uploaded(int... shape) {
            try (Tensor host = ops.hostTensor(shape)) {
                return ops.upload(host);
            }
        }

        private void setLatents(Tensor t) {
            if (latents != null && latents != t) latents.close();
            latents = t;
        }

        /** Releases what the stages hold (the Run may go on with fresh inputs). */
        @Override public void close() {
            if (latents != null) latents.close();
            latents = null;
            if (videoPixels != null) videoPixels.close();
            videoPixels = null;
            for (int i = held.size() - 1; i >= 0; i--) {
                try {
                    held.get(i).close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            held.clear();
        }
    }

    // ---------------------------------------------------------------------------------------------- results

    /** This plan with {@code bytes} free (-1: unknown, e.g. a device that cannot be asked). */
    public MemoryPlan withFree(long bytes) {
        return new MemoryPlan(models, work, backend, weightBytes, loadPeakBytes, stages, bytes, bounded);
    }

    public Models models() { return models; }

    public Workload workload() { return work; }

    public Backend backend() { return backend; }

    /** The weights as the backend holds them (device: in its precision, exact fp32 copies of trainable ones included). */
    public long weightBytes() { return weightBytes; }

    /** The peak while loading (weights plus the staging of one tensor). */
    public long loadPeakBytes() { return loadPeakBytes; }

    public List<StagePeak> stages() { return stages; }

    /** The stage {@code s}, or null when the plan has none. */
    public StagePeak stage(Stage s) {
        return stages.stream().filter(p -> p.stage() == s).findFirst().orElse(null);
    }

    /** Free memory the plan was checked against; -1 when unknown. */
    public long freeBytes() { return freeBytes; }

    /** Whether the estimate is only a lower bound (a shape beyond any machine). */
    public boolean isLowerBound() { return bounded; }

    /** The stage with the highest peak (the load when no stage exceeds it: then null). */
    public StagePeak peakStage() {
        StagePeak best = null;
        for (StagePeak s : stages) if (s.peakBytes() > loadPeakBytes && (best == null || s.peakBytes() > best.peakBytes())) best = s;
        return best;
    }

    /** The peak of the tensors the backend holds (as the benches measure it: host tensors, or the device pool's bytes in use). */
    public long peakBytes() {
        StagePeak s = peakStage();
        return s == null ? loadPeakBytes : s.peakBytes();
    }

    /** Memory beside the tensors: the JVM (host) or what a device needs outside the pool. */
    public long overheadBytes() {
        return backend.target() == Target.HOST ? JVM_BYTES : DEVICE_HEADROOM_BYTES;
    }

    /** The estimate the run is checked against: {@link #peakBytes()} plus {@link #overheadBytes()}. */
    public long needBytes() {
        long n = peakBytes() + overheadBytes();
        return n < 0 ? Long.MAX_VALUE : n;
    }

    /** Whether the estimate fits what is free (true when that is unknown). */
    public boolean fits() { return freeBytes < 0 || needBytes() <= freeBytes; }

    /** This plan when it fits, else a {@link NotEnoughMemoryException} with {@link #refusal()}. */
    public MemoryPlan requireFits() {
        if (fits()) return this;
        throw new NotEnoughMemoryException(this, refusal());
    }

    private String memoryWord() { return backend.target() == Target.HOST ? "memory" : "device memory"; }

    private String freeWord() { return backend.target() == Target.HOST ? "available" : "free"; }

    /** The estimate in one line: "about N (weights …, activations … at the …, …) on the cpu, F available". */
    public String line() {
        StagePeak s = peakStage();
        StringBuilder b = new StringBuilder("about ").append(fmt(needBytes())).append(" (weights ").append(fmt(weightBytes));
        if (s != null) {
            b.append(heldBeside(s));
            b.append(", activations ").append(fmt(s.activationBytes())).append(" at the ").append(s.stage().label());
        } else {
            b.append(", at load");
        }
        b.append(", ").append(backend.target() == Target.HOST ? "JVM " : "outside the pool ").append(fmt(overheadBytes())).append(") on ")
                .append(backend.target() == Target.HOST ? "the cpu" : backend.describe()).append(", ")
                .append(freeBytes < 0 ? freeWord() + " memory unknown" : fmt(freeBytes) + " " + freeWord());
        if (bounded) b.append(" (a lower bound: the shape is beyond any machine)");
        return b.toString();
    }

    /**
     * One line: the estimate and its largest part, what is free, and what would make it fit — fewer frames (how many
     * fit), a smaller size (one that fits), bf16 on a device in fp32, gradient checkpointing when tuning without it,
     * the other device — each checked by planning it again.
     */
    public String refusal() {
        StagePeak s = peakStage();
        StringBuilder b = new StringBuilder("not enough ").append(memoryWord()).append(" for this run on ")
                .append(backend.target() == Target.HOST ? "the cpu" : backend.describe()).append(": about ").append(fmt(needBytes()))
                .append(" needed (weights ").append(fmt(weightBytes));
        if (s != null) b.append(heldBeside(s)).append(", activations for ").append(work.frames()).append(" frames of ").append(work.width()).append('x')
                .append(work.height()).append(" at the ").append(s.stage().label()).append(' ').append(fmt(s.activationBytes()));
        b.append("), ").append(freeBytes < 0 ? "unknown" : fmt(freeBytes)).append(' ').append(freeWord()).append("; ");
        b.append(String.join(", ", suggestions()));
        return b.toString();
    }

    /** ", tuner state and inputs N" (or ", inputs N"): what the peak stage holds beside the weights, when over 1 MiB. */
    private String heldBeside(StagePeak s) {
        long other = s.heldBytes() - weightBytes;
        if (other <= (1L << 20)) return "";
        return (work.stages().contains(Stage.TUNE) && s.stage() != Stage.ENCODE ? ", tuner state and inputs " : ", inputs ") + fmt(other);
    }

    /** What to change, each checked against the same free memory. */
    List<String> suggestions() {
        List<String> out = new ArrayList<>();
        if (freeBytes < 0) return List.of("use fewer frames or a smaller size");
        boolean tunes = work.stages().contains(Stage.TUNE);
        if (tunes && !work.tuning().gradientCheckpointing()) {
            MemoryPlan on = again(work.withTuning(work.tuning().withGradientCheckpointing(true)), backend);
            out.add("gradient checkpointing (drop --no-gradient-checkpointing: about " + fmt(on.needBytes()) + ")");
        }
        if (backend.target() == Target.DEVICE && backend.precision() == DType.F32) {
            MemoryPlan bf = again(work, backend.withPrecision(DType.BF16));
            out.add("--precision bf16 (about " + fmt(bf.needBytes()) + ")");
        }
        int frames = work.frames();
        if (frames > 1 && !bounded) {
            int lo = 0, hi = frames - 1;  // the largest count that fits, by bisection (a plan takes milliseconds)
            while (lo < hi) {
                int mid = (lo + hi + 1) >>> 1;
                if (again(work.withFrames(mid), backend).fits()) lo = mid;
                else hi = mid - 1;
            }
            out.add(lo >= 1 ? "fewer frames (" + lo + " fit)" : "fewer frames (not even one fits at this size)");
        } else {
            out.add("fewer frames");
        }
        String size = null;
        int step = models.vaeScale();
        for (int[] f : new int[][]{{3, 4}, {1, 2}, {1, 4}}) {
            int hh = Math.max(step, work.height() * f[0] / f[1] / step * step), ww = Math.max(step, work.width() * f[0] / f[1] / step * step);
            if (bounded || (hh == work.height() && ww == work.width())) break;
            if (again(work.withSize(hh, ww), backend).fits()) {
                size = ww + "x" + hh + " fits";
                break;
            }
        }
        out.add("a smaller size" + (size == null ? "" : " (" + size + ")"));
        out.add(backend.target() == Target.HOST ? "or a GPU (--device cuda)" : "or --device cpu (host memory)");
        return out;
    }

    private MemoryPlan again(Workload w, Backend b) {
        return estimate(models, w, b).withFree(freeBytes);
    }

    /** Per stage: held, activations, peak; then the need and what is free. */
    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-26s %12s %12s %12s%n", "stage", "held", "activations", "peak"));
        b.append(String.format(Locale.ROOT, "%-26s %12s %12s %12s%n", "load (weights)", "", "", fmt(loadPeakBytes)));
        for (StagePeak s : stages)
            b.append(String.format(Locale.ROOT, "%-26s %12s %12s %12s%n", s.stage().label(), fmt(s.heldBytes()), fmt(s.activationBytes()), fmt(s.peakBytes())));
        b.append(String.format(Locale.ROOT, "%-26s %12s %12s %12s%n", backend.target() == Target.HOST ? "+ JVM" : "+ outside the pool", "", "", fmt(overheadBytes())));
        b.append(String.format(Locale.ROOT, "%-26s %12s %12s %12s%n", "needed", "", "", fmt(needBytes())));
        b.append(String.format(Locale.ROOT, "%-26s %12s %12s %12s%n", freeWord(), "", "", freeBytes < 0 ? "unknown" : fmt(freeBytes)));
        return b.toString();
    }

    static String fmt(long bytes) {
        return bytes >= Long.MAX_VALUE / 4 ? "more than 2 EiB" : HostMemory.format(bytes);
    }

    static String precisionName(DType p) {
        return switch (p) {
            case F32 -> "fp32";
            case BF16 -> "bf16";
            case F16 -> "fp16";
        };
    }

    @Override public String toString() { return "MemoryPlan[" + line() + "]"; }
}
