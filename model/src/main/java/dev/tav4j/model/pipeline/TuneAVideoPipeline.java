package dev.tav4j.model.pipeline;

import dev.tav4j.model.clip.ClipTextEncoder;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.Lora;
import dev.tav4j.model.io.LoraFile;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.sched.DdimScheduler;
import dev.tav4j.model.text.ClipTokenizer;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.TunedDelta;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.model.unet.UNetVariant;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.nio.file.Path;

/**
 * The loaded models of Tune-A-Video on one backend: tokenizer, CLIP text encoder, VAE, UNet3D and the scheduler
 * settings. Load once, then encode prompts, invert and edit as often as needed.
 *
 * <p>Thread-safety: one pipeline runs one operation at a time (methods are synchronized); use one pipeline per
 * thread for parallel work. Latents are channels-last frames [B·F, h, w, 4], scaled by the VAE factor.
 */
public final class TuneAVideoPipeline implements AutoCloseable {
    private final Ops ops;
    private final ClipTokenizer tokenizer;
    private final ClipTextEncoder textEncoder;
    private final Vae vae;
    private final UNet3D unet;
    private final SchedulerConfig scheduler;
    private volatile boolean cudaGraphs;
    /** Reopens the UNet's weight files (set by {@link #load}; null for a pipeline built from parts). */
    private java.util.function.Supplier<Weights> unetSource;
    private LoadTimes loadTimes;
    /** The checkpoint {@link #load} read (a tuned delta's base); null for a pipeline built from parts. */
    private CheckpointDir checkpoint;

    public TuneAVideoPipeline(Ops ops, ClipTokenizer tokenizer, ClipTextEncoder textEncoder, Vae vae, UNet3D unet, SchedulerConfig scheduler) {
        this.ops = ops;
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.vae = vae;
        this.unet = unet;
        this.scheduler = scheduler;
        this.cudaGraphs = ops.settings().cudaGraphs();
    }

    /**
     * Loads a diffusers checkpoint folder. {@code tunedUnet}: a tuned UNet3D folder to use instead of the
     * checkpoint's UNet (null: the checkpoint's 2D UNet, inflated with fresh temporal layers).
     */
    public static TuneAVideoPipeline load(Ops ops, Path checkpoint, Path tunedUnet) {
        return load(ops, checkpoint, tunedUnet, name -> false);
    }

    /**
     * As {@link #load(Ops, Path, Path)}; the UNet parameters {@code trainable} selects (those a tuning job updates) are
     * writable copies, and on a half-precision backend also keep their exact fp32 values on the device, the master
     * weights of mixed-precision tuning ({@link dev.tav4j.model.nn.ParamStore#exactF32}).
     */
    public static TuneAVideoPipeline load(Ops ops, Path checkpoint, Path tunedUnet, java.util.function.Predicate<String> trainable) {
        return load(ops, checkpoint, tunedUnet, trainable, null, w -> {});
    }

    /**
     * As {@link #load(Ops, Path, Path, java.util.function.Predicate)}, with weights repacked into the engine's layouts
     * cached in {@code repackCache} (null: none): the first load writes them, later loads of the same files map them
     * in place (a real-size UNet then loads without repacking 3.4 GB; see docs/memory.md). {@code warn} hears why a
     * cache could not be used.
     */
    public static TuneAVideoPipeline load(Ops ops, Path checkpoint, Path tunedUnet, java.util.function.Predicate<String> trainable,
                                          Path repackCache, java.util.function.Consumer<String> warn) {
        return load(ops, CheckpointDir.open(checkpoint), tunedUnet, trainable, repackCache, warn, java.util.List.of());
    }

    /**
     * As above, with the LoRA files {@code loras} merged into the text encoder's and the UNet's weights as they load
     * (over a tuned UNet too). Every LoRA key is checked against the weights' names and shapes before any model is
     * built; one that matches nothing or does not fit is refused by name ({@link Lora}).
     */
    public static TuneAVideoPipeline load(Ops ops, Path checkpoint, Path tunedUnet, java.util.function.Predicate<String> trainable,
                                          Path repackCache, java.util.function.Consumer<String> warn, java.util.List<LoraFile> loras) {
        return load(ops, CheckpointDir.open(checkpoint), tunedUnet, trainable, repackCache, warn, loras);
    }

    /** As above, from an opened checkpoint: a diffusers folder or a single-file checkpoint with its configs. */
    public static TuneAVideoPipeline load(Ops ops, CheckpointDir checkpoint, Path tunedUnet, java.util.function.Predicate<String> trainable,
                                          Path repackCache, java.util.function.Consumer<String> warn) {
        return load(ops, checkpoint, tunedUnet, trainable, repackCache, warn, java.util.List.of());
    }

    /** As above, from an opened checkpoint, with LoRA files merged at load. */
    public static TuneAVideoPipeline load(Ops ops, CheckpointDir checkpoint, Path tunedUnet, java.util.function.Predicate<String> trainable,
                                          Path repackCache, java.util.function.Consumer<String> warn, java.util.List<LoraFile> loras) {
        return load(ops, checkpoint, tunedUnet, trainable, repackCache, warn, loras, UNetVariant.DEFAULT);
    }

    /** As above, the UNet built with the attention of {@code variant} (an ablation, {@link UNetVariant}). */
    public static TuneAVideoPipeline load(Ops ops, CheckpointDir checkpoint, Path tunedUnet, java.util.function.Predicate<String> trainable,
                                          Path repackCache, java.util.function.Consumer<String> warn, java.util.List<LoraFile> loras,
                                          UNetVariant variant) {
        CheckpointDir plain = checkpoint;
        if (tunedUnet != null) TunedDelta.requireBase(plain, tunedUnet);  // before anything is loaded
        Lora lora = Lora.read(loras);
        if (!lora.isEmpty()) check(plain, tunedUnet, lora);
        CheckpointDir ckpt = plain.withRepackCache(repackCache, warn);
        long t0 = System.nanoTime();
        ClipTokenizer tok = ckpt.tokenizer();
        ClipTextEncoder text = null;
        Vae vae = null;
        try {
            try (var w = ckpt.weights("text_encoder")) {
                text = new ClipTextEncoder(ops, ckpt.textConfig(), lora.apply(w));
            }
            long t1 = System.nanoTime();
            try (var w = ckpt.weights("vae")) {
                vae = new Vae(ops, ckpt.vaeConfig(), w);
            }
            long t2 = System.nanoTime();
            UNet3D unet = UNetLoader.load(ops, ckpt, tunedUnet, null, 0, trainable, lora, variant);
            long t3 = System.nanoTime();
            TuneAVideoPipeline p = new TuneAVideoPipeline(ops, tok, text, vae, unet, ckpt.schedulerConfig());
            // reopened for exact frozen weights, which then carry the LoRA too (temporal ones come from the model)
            p.unetSource = tunedUnet != null ? () -> lora.apply(UNetLoader.tunedWeights(ckpt, tunedUnet), UNetLoader::temporalKey)
                    : () -> lora.apply(ckpt.weights("unet"), UNetLoader::temporalKey);
            p.checkpoint = plain;
            p.loadTimes = new LoadTimes((t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
            return p;
        } catch (RuntimeException | Error e) {
            if (text != null) text.close();
            if (vae != null) vae.close();
            throw e;
        }
    }

    /**
     * Checks every LoRA key against the text encoder's and the UNet's weights from the files' headers (no repacked
     * cache is opened), so a LoRA for another model fails before anything is built. Keys of temporal layers a 2D
     * UNet lacks until it is inflated are checked when it is.
     */
    private static void check(CheckpointDir ckpt, Path tunedUnet, Lora lora) {
        try (Weights w = ckpt.weights("text_encoder")) {
            lora.apply(w);
        }
        try (Weights w = tunedUnet != null ? UNetLoader.tunedWeights(ckpt, tunedUnet) : ckpt.weights("unet")) {
            boolean inflatedLater = !(tunedUnet != null ? CheckpointDir.unetFolderConfig(tunedUnet) : ckpt.unetConfig()).is3D()
                    && !UNetLoader.hasTemporal(w);
            lora.apply(w, key -> inflatedLater && UNetLoader.temporalKey(key));
        }
    }

    /** Seconds each part of {@link #load} took: tokenizer and text encoder, VAE, UNet (tuned, or inflated). */
    public record LoadTimes(double textEncoder, double vae, double unet) {
        @Override public String toString() {
            return String.format(java.util.Locale.ROOT, "text encoder %.1f s, VAE %.1f s, UNet %.1f s", textEncoder, vae, unet);
        }
    }

    /** How long {@link #load} took per part; null for a pipeline built from parts. */
    public LoadTimes loadTimes() { return loadTimes; }

    public Ops ops() { return ops; }

    /**
     * Whether inversion and editing capture each denoising step as a CUDA graph and replay it (cuda backend only;
     * default: the backend's {@code BackendSettings.cudaGraphs()}, which also turns capture off everywhere). Off
     * launches every op of every step, for debugging.
     */
    public TuneAVideoPipeline cudaGraphs(boolean on) {
        this.cudaGraphs = on;
        return this;
    }

    public boolean cudaGraphs() { return cudaGraphs; }

    /**
     * The UNet's weight files opened again (the caller closes them), or null for a pipeline built from parts: a
     * tuned UNet saved from a half-precision backend takes its frozen weights from here, exact, not from their
     * bf16/f16 copies on the device.
     */
    public Weights reopenUnetWeights() {
        return unetSource == null ? null : unetSource.get();
    }

    /** The checkpoint this pipeline was loaded from, or null for one built from parts. */
    public CheckpointDir checkpoint() { return checkpoint; }

    public UNet3D unet() { return unet; }

    public Vae vae() { return vae; }

    public ClipTokenizer tokenizer() { return tokenizer; }

    public SchedulerConfig schedulerConfig() { return scheduler; }

    /** Spatial downscale of the VAE (8 for Stable Diffusion). */
    public int vaeScale() { return 1 << (vae.config().blockOutChannels().length - 1); }

    /** The text embedding [1, 77, D] of a prompt (prompts over 77 tokens are truncated with a warning). */
    public synchronized Tensor encodePrompt(String prompt) {
        return textEncoder.encode(new int[][]{tokenizer.encode(prompt)});
    }

    /** Pixels [F, H, W, 3] in [-1, 1] → latents [F, H/8, W/8, 4] = scale · posterior mean (deterministic). */
    public synchronized Tensor encodeVideoMean(Tensor pixels) {
        try (Tensor dev = ops.upload(pixels); Vae.Posterior post = vae.encode(dev)) {
            Tensor z = ops.allocate(post.mean().shape());
            ops.axpby(vae.config().scalingFactor(), post.mean(), 0f, post.mean(), z);
            return z;
        }
    }

    /** DDIM inversion of latents conditioned on the empty prompt (the official ddim_inversion). */
    public synchronized Tensor invert(Tensor latents, int frames, int steps, Progress progress) {
        try (Tensor empty = encodePrompt("")) {
            return Ddim.invert(unet, new DdimScheduler(scheduler, steps), latents, frames, empty, steps, progress, cudaGraphs);
        }
    }

    /** Guided DDIM sampling from {@code latents} towards {@code prompt} (negative prompt: empty). */
    public synchronized Tensor edit(Tensor latents, int frames, String prompt, int steps, float guidance, Progress progress) {
        try (Tensor cond = encodePrompt(prompt); Tensor uncond = encodePrompt("")) {
            return Ddim.sample(unet, new DdimScheduler(scheduler, steps), latents, frames, uncond, cond, guidance, progress, cudaGraphs);
        }
    }

    /** Latents [F, h, w, 4] → frames [F, 8h, 8w, 3] on the host in [0, 1], decoded frame by frame as the official code. */
    public synchronized Tensor decode(Tensor latents) {
        int f = latents.dim(0);
        int s = vaeScale();
        Tensor out = Tensor.host(f, latents.dim(1) * s, latents.dim(2) * s, 3);
        float inv = 1f / vae.config().scalingFactor();
        try (Tensor z = ops.allocate(1, latents.dim(1), latents.dim(2), latents.dim(3))) {
            for (int i = 0; i < f; i++) {
                ops.axpby(inv, latents.slice(i, 1), 0f, latents.slice(i, 1), z);
                try (Tensor img = vae.decode(z); Tensor host = ops.download(img)) {
                    Tensor dst = out.slice(i, 1);
                    for (long k = 0; k < host.size(); k++) dst.set(k, Math.max(0f, Math.min(1f, host.get(k) / 2f + 0.5f)));
                }
            }
        }
        return out;
    }

    @Override public void close() {
        textEncoder.close();
        vae.close();
        unet.close();
    }
}
