package dev.tav4j.model.tune;

import dev.tav4j.model.nn.Param;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepLoop;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.TuneScalars;
import dev.tav4j.runtime.autograd.Fn;
import dev.tav4j.runtime.autograd.Grads;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The official tuning step on a UNet3D: DDPM add_noise at the given timesteps, MSE between the prediction and
 * ε (or v), backward into the trainable parameters, total-norm clipping, AdamW. Parameters are updated in place.
 *
 * <p>Mixed precision (a backend storing BF16 or F16): activations and frozen weights stay in that type; each
 * trainable parameter gets an fp32 master copy (the exact checkpoint value where the UNet kept one,
 * {@link dev.tav4j.model.nn.ParamStore#exactF32}), its gradient and AdamW moments are fp32, clipping and AdamW run on
 * the masters, and the half-precision working copy the forward reads is refreshed from its master after every
 * optimizer step. With F16 the loss gradient is scaled ({@link LossScaler}, GradScaler's semantics) and unscaled
 * before clipping. Whatever the precision, one reduction over every gradient gives the total norm and tells whether
 * all are finite (one read-back per step); a step with a non-finite gradient is skipped: no parameter, moment or
 * step-count update, the scale backs off, and {@link StepResult#skipped()} says so.
 *
 * <p>With {@link TuneSettings#loraRank()} ≥ 1 the trainable parameters are the LoRA adapters of the trainable
 * modules ({@link LoraTuning}); everything above applies to them unchanged, the modules' own weights stay frozen.
 */
public final class Tuner implements AutoCloseable {
    /**
     * What one step measured: the loss, the total norm of the (unscaled) gradients before clipping (Inf or NaN on a
     * skipped step), whether the step was skipped for a non-finite gradient, and the loss scale it used.
     */
    public record StepResult(float loss, double gradNorm, boolean skipped, float lossScale) {
        public StepResult(float loss, double gradNorm) { this(loss, gradNorm, false, 1f); }
    }

    /** The counters a checkpoint keeps: loop steps (skipped ones included), AdamW steps, skipped steps, the scaler. */
    public record State(int steps, int optimizerSteps, int skippedSteps, float lossScale, int growthTracker) {}

    private final UNet3D unet;
    private final NoiseSchedule schedule;
    private final TuneSettings settings;
    private final Ops ops;
    private final GradOps grad;
    private final Map<String, Param> trainable;
    private final Grads grads;
    private final List<Tensor> gradList = new ArrayList<>();
    private final Map<Tensor, Tensor> masters = new IdentityHashMap<>();
    private final List<Tensor> ownedMasters = new ArrayList<>();
    private final Map<Tensor, Tensor[]> moments = new IdentityHashMap<>();
    private final LossScaler scaler;
    private final boolean mixed;
    private int step, optimizerSteps, skippedSteps;
    private float lastClip = 1f, lastGradScale = 1f;
    private boolean cudaGraphs = StepLoop.graphsByDefault();
    private TuneStep current;

    /** A tuner with the loss scaling the backend's precision calls for ({@link LossScaler#forPrecision}). */
    public Tuner(UNet3D unet, NoiseSchedule schedule, TuneSettings settings) {
        this(unet, schedule, settings, LossScaler.forPrecision(unet.ops().precision()));
    }

    public Tuner(UNet3D unet, NoiseSchedule schedule, TuneSettings settings, LossScaler scaler) {
        this.unet = unet;
        this.schedule = schedule;
        this.settings = settings;
        this.scaler = scaler;
        this.ops = unet.ops();
        this.grad = ops.grad();
        // a LoRA run trains the adapters of the trainable modules (attached before: LoraTuning.attach), not their weights
        this.trainable = settings.lora()
                ? LoraTuning.select(unet.params().all(), settings.trainableModules(), settings.loraRank())
                : TrainableModules.select(unet.params().all(), settings.trainableModules());
        List<Tensor> tensors = trainable.values().stream().map(Param::value).toList();
        this.grads = new Grads(ops, tensors);
        boolean anyHalf = false;
        for (Param p : trainable.values()) {
            Tensor w = p.value();
            w.makeWritable();  // loaded without being marked trainable: still a view of its file
            gradList.add(grads.of(w));
            Tensor master = w;
            if (w.dtype() != DType.F32) {
                anyHalf = true;
                master = unet.params().exactF32(p.name());
                if (master == null) {  // no exact copy kept at load: start from the stored (rounded) values
                    master = ops.allocate(DType.F32, w.shape());
                    ops.copy(w, master);
                    ownedMasters.add(master);
                }
            }
            masters.put(w, master);
            Tensor m = ops.allocate(DType.F32, w.shape()), v = ops.allocate(DType.F32, w.shape());
            grads.zeroFill(m);
            grads.zeroFill(v);
            moments.put(w, new Tensor[]{m, v});
        }
        this.mixed = anyHalf;  // working copies already hold their master's rounding (the same upload, or copied from it)
    }

    /** The trainable parameters by checkpoint name (their values are the working copies the forward reads). */
    public Map<String, Param> trainable() { return trainable; }

    public TuneSettings settings() { return settings; }

    /** Whether the trainable parameters have fp32 master copies beside half-precision working copies. */
    public boolean mixedPrecision() { return mixed; }

    /** The fp32 master copy of a trainable parameter (engine layout); the parameter itself on an F32 backend. */
    public Tensor master(String name) { return masters.get(param(name).value()); }

    /** Tuning steps taken so far, skipped ones included (the loop's step count). */
    public int steps() { return step; }

    /** AdamW steps taken (the bias-correction count): {@link #steps()} minus the skipped steps. */
    public int optimizerSteps() { return optimizerSteps; }

    /** Steps skipped for a non-finite gradient. */
    public int skippedSteps() { return skippedSteps; }

    public LossScaler lossScaler() { return scaler; }

    /** The counters to put in a checkpoint. */
    public State state() {
        return new State(step, optimizerSteps, skippedSteps, scaler.scale(), scaler.growthTracker());
    }

    /** The gradient of a trainable parameter from the last step, before clipping and still multiplied by the loss scale (engine layout, F32). */
    public Tensor rawGrad(String name) { return grads.of(param(name).value()); }

    /** The last step's gradient of a trainable parameter as applied (unscaled, clipped), in PyTorch layout on the host. */
    public Tensor clippedGradTorchLayout(String name) {
        Param p = param(name);
        try (Tensor scaled = ops.allocate(DType.F32, p.value().shape())) {
            ops.axpby(lastGradScale, rawGrad(name), 0f, rawGrad(name), scaled);
            return unet.params().toTorchLayout(p, scaled);
        }
    }

    /** The factor the last step's gradients were clipped by (0 after a skipped step). */
    public float lastClipScale() { return lastClip; }

    /**
     * One step. latents and noise [B·F, h, w, C] (channels-last frames), one timestep per batch item,
     * text [B, 77, D]. The step's host numbers (timesteps, add_noise coefficients, AdamW's bias corrections, the loss
     * scale) go to the device in one copy before it; latents and noise are copied into fixed buffers; the step
     * itself reads nothing back (on cuda with graphs on it is captured at the second call and replayed after); one
     * read-back after it gives the loss, the norm and whether it was skipped.
     */
    public StepResult step(Tensor latents, Tensor noise, int frames, int[] timesteps, Tensor text) {
        int n = latents.dim(0), b = n / frames;
        if (timesteps.length != b) throw new IllegalArgumentException("timesteps: " + timesteps.length + " for batch " + b);
        noise.requireShape("noise", latents.shape());
        if (current == null || !current.fits(latents, frames, text)) {
            if (current != null) current.close();
            current = null;
            current = new TuneStep(ops, latents.shape(), frames, text, cudaGraphs, this::body);
        }
        TuneStep s = current;
        if (latents != s.latents) ops.copy(latents, s.latents);
        if (noise != s.noise) ops.copy(noise, s.noise);
        ops.copy(text, s.text);  // every step: the caller may have changed it in place
        float scale = scaler.scale();
        ops.write(inputs(timesteps, latents.size(), scale), s.in);
        s.run();
        float[] out = s.results(ops);
        double sq = TuneScalars.squaredNorm(out);
        double norm = Math.sqrt(sq) / scale;
        float loss = out[TuneScalars.LOSS];
        step++;
        if (out[TuneScalars.FINITE] == 0f) {
            skippedSteps++;
            lastClip = 0f;
            lastGradScale = 0f;
            scaler.update(false);
            return new StepResult(loss, norm, true, scale);
        }
        lastClip = out[TuneScalars.CLIP];
        lastGradScale = out[TuneScalars.GRAD_SCALE];  // unscale and clip in one factor (exact: scale is a power of two)
        optimizerSteps++;
        scaler.update(true);
        return new StepResult(loss, norm, false, scale);
    }

    /** The step's input scalars ({@link TuneScalars}) for AdamW step optimizerSteps + 1 (skipped on the device if not finite). */
    private float[] inputs(int[] timesteps, long size, float scale) {
        int b = timesteps.length;
        float[] in = new float[TuneScalars.inputSize(b)];
        int t = optimizerSteps + 1;
        float[] bc = TuneScalars.adamWScalars(settings.learningRate(), settings.beta1(), settings.beta2(), t);
        in[TuneScalars.STEP] = t;
        in[TuneScalars.STEP_SIZE] = bc[0];
        in[TuneScalars.BC2_SQRT] = bc[1];
        in[TuneScalars.SCALE] = scale;
        float c = 2f / size * scale;  // the scaled loss's gradient; exact, the scale is a power of two
        in[TuneScalars.LOSS_GRAD] = c;
        in[TuneScalars.LOSS_GRAD + 1] = -c;
        for (int i = 0; i < b; i++) {
            float ac = schedule.alphaCumprod(timesteps[i]);
            float sa = (float) Math.sqrt(ac), sb = (float) Math.sqrt(1f - ac);
            int at = TuneScalars.item(i);
            in[at] = sa;
            in[at + 1] = sb;
            in[at + 2] = sa;
            in[at + 3] = -sb;
            in[TuneScalars.timesteps(b) + i] = timesteps[i];
        }
        return in;
    }

    /** The step on the fixed buffers of {@code s}: no read-back, no host decision (capturable). */
    private void body(TuneStep s) {
        boolean v = "v_prediction".equals(schedule.config().predictionType());
        int frames = s.frames, b = s.batch;
        try (Tensor noisy = ops.allocate(s.latents.shape()); Tensor target = ops.allocate(s.latents.shape())) {
            for (int i = 0; i < b; i++) {
                Tensor x = s.latents.slice(i * frames, frames), e = s.noise.slice(i * frames, frames);
                int at = TuneScalars.item(i);
                ops.axpby(s.in.slice(at, 2), x, e, noisy.slice(i * frames, frames));
                if (v) ops.axpby(s.in.slice(at + 2, 2), e, x, target.slice(i * frames, frames));
                else ops.copy(e, target.slice(i * frames, frames));
            }
            grads.zero();
            // the forward on a tape, then the backward from the loss gradient 2/N·scale·(pred − target)
            try (Fn f = Fn.training(ops, grads, settings.gradientCheckpointing());
                 Tensor dPred = ops.allocate(s.latents.shape())) {
                Tensor pred = unet.forward(f, noisy, frames, s.in.slice(TuneScalars.timesteps(b), b), s.text);
                grad.mseLoss(pred, target, s.out);
                ops.axpby(s.in.slice(TuneScalars.LOSS_GRAD, 2), pred, target, dPred);
                f.backward(pred, dPred);
            }
        }
        grad.clipFactors(gradList, s.in, settings.maxGradNorm(), s.out);  // norm, clip and "all finite" on the device
        for (Param p : trainable.values()) {
            Tensor w = p.value(), master = masters.get(w);
            Tensor[] mv = moments.get(w);
            grad.adamW(master, grads.of(w), mv[0], mv[1], s.in, s.out, settings.learningRate(), settings.beta1(),
                    settings.beta2(), settings.weightDecay(), settings.eps());
            if (master != w) ops.copy(master, w);  // unchanged master on a skipped step: the same working copy
        }
    }

    /** Capture tuning steps in a CUDA graph where the backend can (default: {@link StepLoop#graphsByDefault()}). */
    public Tuner cudaGraphs(boolean on) {
        if (on != cudaGraphs && current != null) {
            current.close();
            current = null;
        }
        cudaGraphs = on;
        return this;
    }

    /** Whether the last step was replayed from a captured graph. */
    public boolean stepCaptured() { return current != null && current.captured(); }

    /** Why capturing tuning steps was given up, or null. */
    public String captureFallbackReason() { return current == null ? null : current.fallbackReason(); }

    /** AdamW's first and second moments of a trainable parameter (engine layout, F32, on the backend). */
    public Tensor[] moments(String name) {
        return moments.get(param(name).value());
    }

    /** Continues from a checkpoint: the step count and AdamW's moments (host tensors in engine layout). */
    public void restore(int steps, Map<String, Tensor> m, Map<String, Tensor> v) {
        restore(new State(steps, steps, 0, scaler.scale(), scaler.growthTracker()), m, v);
    }

    /** Continues from a checkpoint: its counters and AdamW's moments (host tensors in engine layout). */
    public void restore(State state, Map<String, Tensor> m, Map<String, Tensor> v) {
        for (Map.Entry<String, Param> e : trainable.entrySet()) {
            Tensor[] mv = moments.get(e.getValue().value());
            Tensor hm = m.get(e.getKey()), hv = v.get(e.getKey());
            if (hm == null || hv == null) throw new IllegalArgumentException("checkpoint has no optimizer state for " + e.getKey());
            try (Tensor dm = ops.upload(hm.requireShape("m/" + e.getKey(), mv[0].shape()), DType.F32);
                 Tensor dv = ops.upload(hv.requireShape("v/" + e.getKey(), mv[1].shape()), DType.F32)) {
                ops.copy(dm, mv[0]);
                ops.copy(dv, mv[1]);
            }
        }
        this.step = state.steps();
        this.optimizerSteps = state.optimizerSteps();
        this.skippedSteps = state.skippedSteps();
        scaler.restore(state.lossScale(), state.growthTracker());
    }

    /** Copies every master into its working copy (after the masters were written, e.g. restored from a checkpoint). */
    public void refreshWorkingCopies() {
        for (Param p : trainable.values()) {
            Tensor w = p.value(), master = masters.get(w);
            if (master != w) ops.copy(master, w);
        }
    }

    /** The tuned parameters (the fp32 masters) in PyTorch layout on the host, by name (for saving or checking). */
    public Map<String, Tensor> trainedParametersTorchLayout() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Param p : trainable.values()) out.put(p.name(), unet.params().toTorchLayout(p, masters.get(p.value())));
        return out;
    }

    private Param param(String name) {
        Param p = trainable.get(name);
        if (p == null) throw new IllegalArgumentException("'" + name + "' is not a trainable parameter of this tuner");
        return p;
    }

    @Override public void close() {
        if (current != null) current.close();
        current = null;
        grads.close();
        moments.values().forEach(mv -> { mv[0].close(); mv[1].close(); });
        moments.clear();
        ownedMasters.forEach(Tensor::close);
        ownedMasters.clear();
        masters.clear();
    }
}
