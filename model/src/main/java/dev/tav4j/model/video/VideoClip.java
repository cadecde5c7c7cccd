package dev.tav4j.model.video;

import dev.tav4j.runtime.Tensor;

import java.awt.image.BufferedImage;
import java.util.Arrays;
import java.util.List;

/**
 * Frames sampled from a video: the resized RGB frames, how many frames the source has, its frame rate
 * (frames per second; 0 when the source has none, e.g. a folder of images) and the source index of each frame.
 */
public record VideoClip(List<BufferedImage> frames, int sourceFrameCount, double fps, int[] sampledIndices) {
    public VideoClip {
        frames = List.copyOf(frames);
        sampledIndices = sampledIndices.clone();
        if (sampledIndices.length != frames.size())
            throw new IllegalArgumentException(frames.size() + " frames but " + sampledIndices.length + " sampled indices");
    }

    @Override public int[] sampledIndices() { return sampledIndices.clone(); }

    public int width() { return frames.getFirst().getWidth(); }

    public int height() { return frames.getFirst().getHeight(); }

    /** A new {@code [F, H, W, 3]} host tensor of pixels mapped to [-1, 1] (x / 127.5 − 1); the caller closes it. */
    public Tensor toPixels() { return Frames.toPixels(frames); }

    @Override public String toString() {
        return "VideoClip[" + frames.size() + " frames " + width() + "x" + height() + " of " + sourceFrameCount
                + " at " + fps + " fps, indices " + Arrays.toString(sampledIndices) + "]";
    }
}
