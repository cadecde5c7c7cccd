package dev.tav4j.kernels.cpu;

import java.lang.foreign.MemorySegment;

/** The scalar twins of {@link VecLoops}: the same arguments and results, plain loops over the segments. */
final class ScalarLoops {
    private ScalarLoops() {}

    /** out = a·x + b·y over [from, to). */
    static void axpby(float a, MemorySegment xs, float b, MemorySegment ys, MemorySegment os, long from, long to) {
        for (long i = from; i < to; i++) Floats.set(os, i, Floats.get(xs, i) * a + Floats.get(ys, i) * b);
    }

    /** out = x·y over [from, to). */
    static void mul(MemorySegment xs, MemorySegment ys, MemorySegment os, long from, long to) {
        for (long i = from; i < to; i++) Floats.set(os, i, Floats.get(xs, i) * Floats.get(ys, i));
    }

    /** out[r] = x[r] + rows[r / perRow] for rows [r0, r1) of C channels. */
    static void addBiasRows(MemorySegment xs, MemorySegment rs, MemorySegment os, long r0, long r1, int c,
                            long perRow) {
        for (long r = r0; r < r1; r++) {
            long bias = r / perRow * c, i = r * c;
            for (int ch = 0; ch < c; ch++) Floats.set(os, i + ch, Floats.get(xs, i + ch) + Floats.get(rs, bias + ch));
        }
    }

    /** dst[0, C) = Σ dY[image row base + oy, ox, :] over oy ∈ [oy0, oy1), ox ∈ [ox0, ox1), in float, in that order. */
    static void sumPixels(MemorySegment ys, long base, int oy0, int oy1, int wo, int ox0, int ox1, int c,
                          MemorySegment xs, long dst) {
        for (int ch = 0; ch < c; ch++) {
            float s = 0f;
            for (int oy = oy0; oy < oy1; oy++)
                for (int ox = ox0; ox < ox1; ox++) s += Floats.get(ys, ((base + oy) * wo + ox) * c + ch);
            Floats.set(xs, dst + ch, s);
        }
    }

    /** part[at + j] = Σ_{r0 ≤ r &lt; r1} dY[r, j] in float, rows in order. */
    static void columnSums(MemorySegment dy, int r0, int r1, int n, float[] part, int at) {
        java.util.Arrays.fill(part, at, at + n, 0f);
        for (int r = r0; r < r1; r++) {
            long row = (long) r * n;
            for (int j = 0; j < n; j++) part[at + j] += Floats.get(dy, row + j);
        }
    }
}
