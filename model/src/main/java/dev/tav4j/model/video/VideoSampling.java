package dev.tav4j.model.video;

/**
 * Which frames to take from a clip and the size to resize them to, as the official dataset does:
 * frames {@code startIndex, startIndex + frameRate, …} (the first {@code frames} of them), each resized
 * straight (no crop) to {@code width × height}.
 */
public record VideoSampling(int width, int height, int frames, int startIndex, int frameRate) {
    public VideoSampling {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("video size must be positive, got " + width + "x" + height);
        if (frames <= 0) throw new IllegalArgumentException("frames to sample must be positive, got " + frames);
        if (startIndex < 0) throw new IllegalArgumentException("sample start index must be >= 0, got " + startIndex);
        if (frameRate <= 0) throw new IllegalArgumentException("sample frame rate must be positive, got " + frameRate);
    }

    /** The source index of the {@code k}-th sampled frame. */
    public int index(int k) { return startIndex + k * frameRate; }

    /** The largest source index sampled. */
    public int lastIndex() { return index(frames - 1); }

    /** Whether source frame {@code i} is one of the sampled frames. */
    public boolean samples(int i) {
        return i >= startIndex && i <= lastIndex() && (i - startIndex) % frameRate == 0;
    }

    /** All sampled source indices, in order. */
    public int[] indices() {
        int[] out = new int[frames];
        for (int k = 0; k < frames; k++) out[k] = index(k);
        return out;
    }
}
