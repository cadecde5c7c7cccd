package dev.tav4j.model.tune;

import dev.tav4j.runtime.DType;

/**
 * Dynamic loss scaling with the semantics of torch.cuda.amp.GradScaler: the loss gradient is multiplied by
 * {@link #scale()} before the backward (so small fp16 gradients do not flush to zero), gradients are unscaled before
 * clipping, and {@link #update} after every step: a step with any non-finite gradient is skipped and the scale is
 * multiplied by {@code backoffFactor}; after {@code growthInterval} consecutive finite steps it is multiplied by
 * {@code growthFactor} (only if the result is finite). A fixed scaler (bf16, fp32) keeps scale 1 but still reports,
 * and the tuner still skips, non-finite steps. Scales are powers of two, so scaling and unscaling are exact.
 */
public final class LossScaler {
    /** GradScaler's defaults. */
    public static final float INIT_SCALE = 65536f, GROWTH_FACTOR = 2f, BACKOFF_FACTOR = 0.5f;
    public static final int GROWTH_INTERVAL = 2000;

    private final boolean dynamic;
    private final float growthFactor, backoffFactor;
    private final int growthInterval;
    private float scale;
    private int growthTracker;

    private LossScaler(boolean dynamic, float initScale, float growthFactor, float backoffFactor, int growthInterval) {
        if (!(initScale > 0) || Float.isInfinite(initScale)) throw new IllegalArgumentException("loss scale must be positive and finite, got " + initScale);
        if (dynamic && !(growthFactor > 1)) throw new IllegalArgumentException("growth factor must exceed 1, got " + growthFactor);
        if (dynamic && !(backoffFactor > 0 && backoffFactor < 1)) throw new IllegalArgumentException("backoff factor must lie in (0, 1), got " + backoffFactor);
        if (growthInterval < 1) throw new IllegalArgumentException("growth interval must be at least 1, got " + growthInterval);
        this.dynamic = dynamic;
        this.scale = initScale;
        this.growthFactor = growthFactor;
        this.backoffFactor = backoffFactor;
        this.growthInterval = growthInterval;
    }

    /** GradScaler(init_scale, growth_factor, backoff_factor, growth_interval). */
    public static LossScaler dynamic(float initScale, float growthFactor, float backoffFactor, int growthInterval) {
        return new LossScaler(true, initScale, growthFactor, backoffFactor, growthInterval);
    }

    /** GradScaler() with its defaults: 65536, ×2 every 2000 finite steps, ×0.5 on overflow. */
    public static LossScaler torchDefaults() {
        return dynamic(INIT_SCALE, GROWTH_FACTOR, BACKOFF_FACTOR, GROWTH_INTERVAL);
    }

    /** Scale 1 for good (bf16 and fp32 need no scaling). */
    public static LossScaler fixed() {
        return new LossScaler(false, 1f, 1f, 1f, Integer.MAX_VALUE);
    }

    /** Dynamic scaling for F16 activations (GradScaler's defaults), none otherwise. */
    public static LossScaler forPrecision(DType activations) {
        return activations == DType.F16 ? torchDefaults() : fixed();
    }

    public boolean isDynamic() { return dynamic; }

    /** The factor the loss gradient is multiplied by this step. */
    public float scale() { return scale; }

    /** Finite steps since the last change of scale. */
    public int growthTracker() { return growthTracker; }

    /** After a step: backs off on non-finite gradients, grows after {@code growthInterval} finite steps in a row. */
    public void update(boolean finite) {
        if (!dynamic) return;
        if (!finite) {
            scale *= backoffFactor;
            growthTracker = 0;
            return;
        }
        if (++growthTracker == growthInterval) {
            float grown = scale * growthFactor;
            if (Float.isFinite(grown)) scale = grown;
            growthTracker = 0;
        }
    }

    /** Continues from a checkpoint's scale and growth tracker (ignored by a fixed scaler). */
    public void restore(float scale, int growthTracker) {
        if (!dynamic) return;
        if (!(scale > 0) || Float.isInfinite(scale)) throw new IllegalArgumentException("checkpoint loss scale " + scale + " is not a positive finite number");
        this.scale = scale;
        this.growthTracker = Math.max(0, growthTracker);
    }
}
