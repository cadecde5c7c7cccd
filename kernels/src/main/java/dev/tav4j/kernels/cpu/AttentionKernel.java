package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.VL;

import java.lang.foreign.MemorySegment;

/**
 * One (image, head, query range) of attention. Keys and values of the head are transposed into per-thread
 * buffers kt, vt [headSize][keysPadded] so that scores and the weighted sum are vectorised over keys; queries
 * go in blocks of {@link #QB} sharing every key load; each query's score row lives in a per-thread buffer
 * (never the whole score matrix). Padding keys get −∞ before the softmax. The products are {@link AttentionMath}'s,
 * shared with the backward.
 */
final class AttentionKernel {
    static final int QB = AttentionMath.QB;

    private AttentionKernel() {}

    /**
     * @param qBase  float index of the image's first query row; rows are c floats apart
     * @param key0   float index of the first key image in k and v; key1 a second one (−1: none), lk tokens each
     * @param col    first channel of the head; hs its size
     */
    static void run(MemorySegment qs, long qBase, int q0, int q1, MemorySegment ks, MemorySegment vs, long key0,
                    long key1, int lk, int keys, int c, int col, int hs, float scale, boolean causal, MemorySegment os) {
        int lp = Floats.roundUp(keys, 2 * VL);
        float[] kt = Scratch.floats(0, hs * lp), vt = Scratch.floats(1, hs * lp);
        float[] sc = Scratch.floats(2, QB * lp), qb = Scratch.floats(3, QB * hs);
        AttentionMath.transpose(ks, key0, lk, c, col, hs, kt, lp, 0);
        AttentionMath.transpose(vs, key0, lk, c, col, hs, vt, lp, 0);
        if (key1 >= 0) {
            AttentionMath.transpose(ks, key1, lk, c, col, hs, kt, lp, lk);
            AttentionMath.transpose(vs, key1, lk, c, col, hs, vt, lp, lk);
        }
        AttentionMath.zeroTail(kt, hs, lp, keys);
        AttentionMath.zeroTail(vt, hs, lp, keys);
        float[] inv = Scratch.floats(4, QB);
        for (int qi = q0; qi < q1; qi += QB) {
            int nq = Math.min(QB, q1 - qi);
            int end = 0;
            for (int r = 0; r < QB; r++) {
                int row = qi + Math.min(r, nq - 1);
                long src = qBase + (long) row * c + col;
                for (int i = 0; i < hs; i++) qb[r * hs + i] = Floats.get(qs, src + i) * scale;
                end = Math.max(end, causal ? Math.min(keys, row + 1) : keys);
            }
            int jEnd = Floats.roundUp(end, 2 * VL);
            AttentionMath.rowsTimesT(kt, lp, hs, qb, sc, jEnd);  // scores
            for (int r = 0; r < QB; r++) {
                int row = qi + Math.min(r, nq - 1);
                inv[r] = softmax(sc, r * lp, causal ? Math.min(keys, row + 1) : keys, jEnd);
            }
            AttentionMath.timesTInto(vt, lp, hs, sc, jEnd, inv, os, qBase + (long) qi * c + col, c, nq);  // P·V / Σ
        }
    }

    /** Masks keys from limit on, replaces the row by exp(s − max) and returns 1 / Σ. */
    static float softmax(float[] sc, int at, int limit, int jEnd) {
        for (int j = limit; j < jEnd; j++) sc[at + j] = Float.NEGATIVE_INFINITY;
        float[] lanes = Scratch.floats(5, 2 * VL);  // the max in every lane, then the sum's lanes
        java.util.Arrays.fill(lanes, 0, VL, AttentionMath.rowMax(sc, at, jEnd));
        AttentionMath.expShifted(sc, at, jEnd, lanes, 0, lanes, VL);
        return 1f / Vec.sumLanes(lanes, VL);
    }
}
