package dev.tav4j.runtime;

/**
 * The layout of a tuning step's device-side scalars, so one captured graph serves every step: an F32 input buffer
 * the host writes before each step (one asynchronous copy, {@link Ops#write}) and an F32 output buffer the step's
 * kernels write and the host reads back once after it ({@link GradOps#mseLoss}, {@link GradOps#clipFactors},
 * {@link GradOps#adamW(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, float, float, float, float, float)}).
 *
 * <p>Input, for a batch of B items: [STEP] AdamW's step t (as a float, exact below 2²⁴), [STEP_SIZE] −lr / (1 − β1ᵗ),
 * [BC2_SQRT] √(1 − β2ᵗ) (both formed on the host as {@link #adamWScalars}), [SCALE] the loss scale, [LOSS_GRAD]
 * c = 2/N · scale and −c, then per item i at {@link #item} (√ᾱ, √(1−ᾱ), √ᾱ, −√(1−ᾱ)) (add_noise and the v target as axpby coefficient pairs) and
 * the B timesteps at {@link #timesteps}. Output: [LOSS], the squared total norm of the scaled gradients as four
 * 16-bit pieces of its double at [SQ..SQ+3] (exact in floats), [CLIP] the clip factor, [GRAD_SCALE] clip / scale,
 * [FINITE] 1 when every gradient is finite, 0 when the step is skipped.
 */
public final class TuneScalars {
    public static final int STEP = 0, STEP_SIZE = 1, BC2_SQRT = 2, SCALE = 3, LOSS_GRAD = 4, ITEMS = 6;
    public static final int LOSS = 0, SQ = 1, CLIP = 5, GRAD_SCALE = 6, FINITE = 7, OUT_SIZE = 8;

    private TuneScalars() {}

    /** Floats of the input buffer for a batch of {@code b} items. */
    public static int inputSize(int b) { return ITEMS + 5 * b; }

    /** Where item i's four add_noise / target coefficients start. */
    public static int item(int i) { return ITEMS + 4 * i; }

    /** Where the b timesteps start. */
    public static int timesteps(int b) { return ITEMS + 4 * b; }

    /**
     * AdamW's step-dependent scalars {stepSize, bc2Sqrt} for step t as the CPU backend forms them (the
     * hyper-parameters read back as their decimal values, in double): −lr / (1 − β1ᵗ) and √(1 − β2ᵗ), rounded to float.
     */
    public static float[] adamWScalars(float lr, float beta1, float beta2, int step) {
        double lrD = decimal(lr), b1 = decimal(beta1), b2 = decimal(beta2);
        double bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
        return new float[] {(float) -(lrD / bc1), (float) Math.sqrt(bc2)};
    }

    /** A float hyper-parameter as the decimal number it prints as (PyTorch's Python floats), in double. */
    public static double decimal(float f) {
        return Double.parseDouble(Float.toString(f));
    }

    /** The squared norm stored at [SQ..SQ+3] of an output buffer read back to the host. */
    public static double squaredNorm(float[] out) {
        long bits = 0;
        for (int k = 0; k < 4; k++) bits |= ((long) out[SQ + k] & 0xFFFFL) << (16 * k);
        return Double.longBitsToDouble(bits);
    }

    /** Stores a squared norm at [SQ..SQ+3] of a host output buffer (the layout the device kernel writes). */
    static void putSquaredNorm(double sq, Tensor out) {
        long bits = Double.doubleToRawLongBits(sq);
        for (int k = 0; k < 4; k++) out.set(SQ + k, (float) ((bits >>> (16 * k)) & 0xFFFFL));
    }
}
