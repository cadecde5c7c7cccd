package dev.tav4j.model.tune;

import dev.tav4j.model.nn.Grads;
import dev.tav4j.model.nn.Param;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetBackprop;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The official tuning step on a UNet3D: DDPM add_noise at the given timesteps, MSE between the prediction and
 * ε (or v), backward into the trainable parameters, total-norm clipping, AdamW. Parameters are updated in place.
 */
public final class Tuner implements AutoCloseable {
    /** What one step measured: the loss and the total gradient norm before clipping. */
    public record StepResult(float loss, double gradNorm) {}

    private final UNet3D unet;
    private final NoiseSchedule schedule;
    private final TuneSettings settings;
    private final Ops ops;
    private final GradOps grad;
    private final Map<String, Param> trainable;
    private final Grads grads;
    private final Map<Tensor, Tensor[]> moments = new java.util.IdentityHashMap<>();
    private int step;
    private float lastClip = 1f;

    public Tuner(UNet3D unet, NoiseSchedule schedule, TuneSettings settings) {
        this.unet = unet;
        this.schedule = schedule;
        this.settings = settings;
        this.ops = unet.ops();
        this.grad = ops.grad();
        this.trainable = TrainableModules.select(unet.params().all(), settings.trainableModules());
        List<Tensor> tensors = trainable.values().stream().map(Param::value).toList();
        this.grads = new Grads(ops, tensors);
        for (Tensor p : tensors) {
            Tensor m = ops.allocate(p.shape()), v = ops.allocate(p.shape());
            grads.zeroFill(m);
            grads.zeroFill(v);
            moments.put(p, new Tensor[]{m, v});
        }
    }

    /** The trainable parameters by checkpoint name. */
    public Map<String, Param> trainable() { return trainable; }

    /** Steps taken so far. */
    public int steps() { return step; }

    /** The gradient of a trainable parameter from the last step, before clipping (engine layout). */
    public Tensor rawGrad(String name) { return grads.of(trainable.get(name).value()); }

    /** The last step's gradient of a trainable parameter after clipping, in PyTorch layout on the host. */
    public Tensor clippedGradTorchLayout(String name) {
        Param p = trainable.get(name);
        try (Tensor scaled = ops.allocate(p.value().shape())) {
            ops.axpby(lastClip, rawGrad(name), 0f, rawGrad(name), scaled);
            return unet.params().toTorchLayout(p, scaled);
        }
    }

    /** The factor the last step's gradients were scaled by (clipping). */
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
                float c = 2f / latents.size();
                ops.axpby(c, pass.output(), -c, target, dPred);
                pass.backward(grads, dPred);
            }
            double sq = 0;
            for (Param p : trainable.values()) sq += grad.sumOfSquares(grads.of(p.value()));
            double norm = Math.sqrt(sq);
            lastClip = (float) Math.min(1.0, settings.maxGradNorm() / (norm + 1e-6));
            step++;
            for (Param p : trainable.values()) {
                Tensor[] mv = moments.get(p.value());
                grad.adamW(p.value(), grads.of(p.value()), mv[0], mv[1], lastClip, settings.learningRate(), settings.beta1(),
                        settings.beta2(), settings.weightDecay(), settings.eps(), step);
            }
            return new StepResult(loss, norm);
        }
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

    /** AdamW's first and second moments of a trainable parameter (engine layout, on the backend). */
    public Tensor[] moments(String name) {
        return moments.get(trainable.get(name).value());
    }

    /** Continues from a checkpoint: the step count and AdamW's moments (host tensors in engine layout). */
    public void restore(int steps, Map<String, Tensor> m, Map<String, Tensor> v) {
        for (Map.Entry<String, Param> e : trainable.entrySet()) {
            Tensor[] mv = moments.get(e.getValue().value());
            Tensor hm = m.get(e.getKey()), hv = v.get(e.getKey());
            if (hm == null || hv == null) throw new IllegalArgumentException("checkpoint has no optimizer state for " + e.getKey());
            try (Tensor dm = ops.upload(hm.requireShape("m/" + e.getKey(), mv[0].shape()));
                 Tensor dv = ops.upload(hv.requireShape("v/" + e.getKey(), mv[1].shape()))) {
                ops.copy(dm, mv[0]);
                ops.copy(dv, mv[1]);
            }
        }
        this.step = steps;
    }

    /** The tuned parameters in PyTorch layout on the host, by name (for saving or checking). */
    public Map<String, Tensor> trainedParametersTorchLayout() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Param p : trainable.values()) out.put(p.name(), unet.params().toTorchLayout(p));
        return out;
    }

    @Override public void close() {
        grads.close();
        moments.values().forEach(mv -> { mv[0].close(); mv[1].close(); });
        moments.clear();
    }
}
