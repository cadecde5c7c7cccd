package dev.tav4j.model.pipeline;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/**
 * Converts between the official video layout (b, c, f, h, w) and the engine's channels-last frames
 * [b·f, h, w, c].
 */
public final class VideoLayout {
    private VideoLayout() {}

    /** A host (b, c, f, h, w) tensor → new [b·f, h, w, c] on the backend. */
    public static Tensor toFrames(Ops ops, Tensor bcfhw) {
        if (bcfhw.rank() != 5) throw new IllegalArgumentException("expected a (b, c, f, h, w) tensor, got " + bcfhw);
        int b = bcfhw.dim(0), c = bcfhw.dim(1), f = bcfhw.dim(2), h = bcfhw.dim(3), w = bcfhw.dim(4);
        Tensor out = ops.allocate(b, f, h, w, c);
        try (Tensor src = ops.upload(bcfhw)) {
            ops.permute(src, new int[]{0, 2, 3, 4, 1}, out);
        }
        return out.reshapeOwned(b * f, h, w, c);
    }

    /** [b·f, h, w, c] → new (b, c, f, h, w) on the same backend. */
    public static Tensor toBcfhw(Ops ops, Tensor frames, int f) {
        int n = frames.dim(0), h = frames.dim(1), w = frames.dim(2), c = frames.dim(3);
        Tensor out = ops.allocate(n / f, c, f, h, w);
        ops.permute(frames.reshape(n / f, f, h, w, c), new int[]{0, 4, 1, 2, 3}, out);
        return out;
    }
}
