package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Attention over frames: token l of image b·F+f attends to token l of images b·F+0..F−1 (F keys). The F rows of
 * each (item, token) are copied into per-thread buffers, then every head runs a tiny F × F softmax. The scalar
 * twin of {@link TemporalLaneAttention}, run without the Vector API.
 */
final class TemporalAttention {
    private TemporalAttention() {}

    static void run(int frames, int heads, float scale, Tensor q, Tensor k, Tensor v, Tensor out) {
        int n = q.dim(0), l = q.dim(1), c = q.dim(2), hs = c / heads, f = frames, batch = n / frames;
        MemorySegment qs = q.segment(), ks = k.segment(), vs = v.segment(), os = out.segment();
        long image = (long) l * c;
        Parallel.forRange(batch * l, Math.max(1, 2048 / Math.max(1, f * c)), (lo, hi) -> {
            float[] qa = Scratch.floats(0, f * c), ka = Scratch.floats(1, f * c), va = Scratch.floats(2, f * c);
            float[] oa = Scratch.floats(3, f * c), p = Scratch.floats(4, f);
            for (int item = lo; item < hi; item++) {
                int b = item / l, tok = item % l;
                for (int g = 0; g < f; g++) {
                    long row = (b * (long) f + g) * image + (long) tok * c;
                    MemorySegment.copy(qs, Floats.F, row << 2, qa, g * c, c);
                    MemorySegment.copy(ks, Floats.F, row << 2, ka, g * c, c);
                    MemorySegment.copy(vs, Floats.F, row << 2, va, g * c, c);
                }
                for (int h = 0; h < heads; h++) {
                    int col = h * hs;
                    for (int fi = 0; fi < f; fi++) {
                        float max = Float.NEGATIVE_INFINITY;
                        for (int g = 0; g < f; g++) {
                            float s = 0;
                            for (int i = 0; i < hs; i++) s += qa[fi * c + col + i] * ka[g * c + col + i];
                            p[g] = s * scale;
                            max = Math.max(max, p[g]);
                        }
                        float sum = 0;
                        for (int g = 0; g < f; g++) { p[g] = (float) Math.exp(p[g] - max); sum += p[g]; }
                        float inv = 1f / sum;
                        for (int i = 0; i < hs; i++) {
                            float acc = 0;
                            for (int g = 0; g < f; g++) acc += p[g] * va[g * c + col + i];
                            oa[fi * c + col + i] = acc * inv;
                        }
                    }
                }
                for (int g = 0; g < f; g++) {
                    long row = (b * (long) f + g) * image + (long) tok * c;
                    MemorySegment.copy(oa, g * c, os, Floats.F, row << 2, c);
                }
            }
        });
    }
}
