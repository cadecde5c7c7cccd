package dev.tav4j.model.unet;

/**
 * How a UNet3D's transformers attend over the frames: a value fixed when the UNet is built, read by every
 * {@link TransformerBlock} in its one forward (inference and the tuning tape alike). {@link #DEFAULT} is
 * Tune-A-Video's model; the others are the paper's ablations (docs/eval.md, "World ablations").
 *
 * @param frameAttention   what each frame's self-attention (attn1) sees
 * @param temporalAttention whether the temporal attention (norm_temp, attn_temp) runs; false skips it, so its
 *                          weights are loaded but never read (and a tuning run should not select them)
 */
public record UNetVariant(FrameAttention frameAttention, boolean temporalAttention) {
    /** What frame f of a video attends to in attn1. */
    public enum FrameAttention {
        /** Tune-A-Video: the tokens of frame 0 and frame max(f − 1, 0). */
        SPARSE_CAUSAL,
        /** The tokens of every frame of the video: full spatio-temporal attention. */
        FULL,
        /** The tokens of frames 0 … f: causal attention over the frames. */
        CAUSAL
    }

    /** Sparse-causal self-attention and temporal attention: the method. */
    public static final UNetVariant DEFAULT = new UNetVariant(FrameAttention.SPARSE_CAUSAL, true);

    public UNetVariant {
        if (frameAttention == null) throw new IllegalArgumentException("frameAttention is null");
    }

    public UNetVariant withFrameAttention(FrameAttention a) { return new UNetVariant(a, temporalAttention); }

    public UNetVariant withTemporalAttention(boolean on) { return new UNetVariant(frameAttention, on); }
}
