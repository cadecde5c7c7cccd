package dev.tav4j.model.tune;

import dev.tav4j.model.nn.Grads;
import dev.tav4j.model.nn.Param;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetBackprop;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

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
    /** Test hook: sees the raw (scaled) gradients by name after the backward, before the finite check. */
    Consumer<Map<String, Tensor>> afterBackward;

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
        this.trainable = TrainableModules.select(unet.params().all(), settings.trainableModules());
        List<Tensor> tensors = trainable.values().stream().map(Param::value).toList();
        this.grads = new Grads(ops, tensors);
        boolean anyHalf = false;
        for (Param p : trainable.values()) {
            Tensor w = p.value();
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
     * text [B, 77, D].
     */
    public StepResult step(Tensor latents, Tensor noise, int frames, int[] timesteps, Tensor text) {
        int n = latents.dim(0), b = n / frames;
        if (timesteps.length != b) throw new IllegalArgumentException("timesteps: " + timesteps.length + " for batch " + b);
        noise.requireShape("noise", latents.shape());
        boolean v = "v_prediction".equals(schedule.config().predictionType());
        float[] t = new float[b];
        float scale = scaler.scale();
        try (Tensor noisy = ops.allocate(latents.shape()); Tensor target = ops.allocate(latents.shape())) {
            for (int i = 0; i < b; i++) {
                float ac = schedule.alphaCumprod(timesteps[i]);
                float sa = (float) Math.sqrt(ac), sb = (float) Math.sqrt(1f - ac);
                Tensor x = latents.slice(i * frames, frames), e = noise.slice(i * frames, frames);
                ops.axpby(sa, x, sb, e, noisy.slice(i * frames, frames));
                if (v) ops.axpby(sa, e, -sb, x, target.slice(i * frames, frames));
                else ops.copy(e, target.slice(i * frames, frames));
                t[i] = timesteps[i];
            }
            grads.zero();
            float loss;
            try (UNetBackprop pass = UNetBackprop.forward(unet, noisy, frames, t, text, trainable.keySet(), settings.gradientCheckpointing());
                 Tensor dPred = ops.allocate(latents.shape())) {
                loss = mse(pass.output(), target);
                float c = 2f / latents.size() * scale;  // the scaled loss's gradient; exact, the scale is a power of two
                ops.axpby(c, pass.output(), -c, target, dPred);
                pass.backward(grads, dPred);
            }
            if (afterBackward != null) afterBackward.accept(rawGrads());
            double sq = grad.sumOfSquares(gradList);  // the one read-back of the step: norm and "all finite" at once
            double norm = Math.sqrt(sq) / scale;
            step++;
            if (!Double.isFinite(sq)) {
                skippedSteps++;
                lastClip = 0f;
                lastGradScale = 0f;
                scaler.update(false);
                return new StepResult(loss, norm, true, scale);
            }
            lastClip = (float) Math.min(1.0, settings.maxGradNorm() / (norm + 1e-6));
            lastGradScale = lastClip / scale;  // unscale and clip in one factor (exact: scale is a power of two)
            optimizerSteps++;
            for (Param p : trainable.values()) {
                Tensor w = p.value(), master = masters.get(w);
                Tensor[] mv = moments.get(w);
                grad.adamW(master, grads.of(w), mv[0], mv[1], lastGradScale, settings.learningRate(), settings.beta1(),
                        settings.beta2(), settings.weightDecay(), settings.eps(), optimizerSteps);
                if (master != w) ops.copy(master, w);
            }
            scaler.update(true);
            return new StepResult(loss, norm, false, scale);
        }
    }

    private Map<String, Tensor> rawGrads() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Param p : trainable.values()) out.put(p.name(), grads.of(p.value()));
        return out;
    }

    private float mse(Tensor pred, Tensor target) {
        try (Tensor p = ops.download(pred); Tensor q = ops.download(target)) {
            double s = 0;
            for (long i = 0; i < p.size(); i++) {
                double d = (double) p.get(i) - q.get(i);
                s += d * d;
            }
            return (float) (s / p.size());
        }
    }

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
        grads.close();
        moments.values().forEach(mv -> { mv[0].close(); mv[1].close(); });
        moments.clear();
        ownedMasters.forEach(Tensor::close);
        ownedMasters.clear();
        masters.clear();
    }
}
