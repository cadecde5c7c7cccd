package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

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

    /**
     * Masks keys from limit on, replaces the row by exp(s − max) and returns 1 / Σ. The exponential is
     * {@link AttentionMath}'s polynomial, written out here.
     */
    private static float softmax(float[] sc, int at, int limit, int jEnd) {
        for (int j = limit; j < jEnd; j++) sc[at + j] = Float.NEGATIVE_INFINITY;
        float m = AttentionMath.rowMax(sc, at, jEnd);
        FloatVector mv = FloatVector.broadcast(S, m), sum = FloatVector.zero(S);
        FloatVector low = FloatVector.broadcast(S, AttentionMath.EXP_LOW), log2e = FloatVector.broadcast(S, AttentionMath.LOG2E);
        FloatVector round = FloatVector.broadcast(S, AttentionMath.EXP_ROUND), one = FloatVector.broadcast(S, 1f);
        FloatVector hi = FloatVector.broadcast(S, -AttentionMath.LN2_HI), lo = FloatVector.broadcast(S, -AttentionMath.LN2_LO);
        FloatVector p0 = FloatVector.broadcast(S, AttentionMath.EXP_P0), p1 = FloatVector.broadcast(S, AttentionMath.EXP_P1);
        FloatVector p2 = FloatVector.broadcast(S, AttentionMath.EXP_P2), p3 = FloatVector.broadcast(S, AttentionMath.EXP_P3);
        FloatVector p4 = FloatVector.broadcast(S, AttentionMath.EXP_P4), p5 = FloatVector.broadcast(S, AttentionMath.EXP_P5);
        for (int j = 0; j < jEnd; j += VL) {
            FloatVector x = FloatVector.fromArray(S, sc, at + j).sub(mv);
            x = x.blend(low, x.compare(VectorOperators.LT, low));
            FloatVector t = x.fma(log2e, round), n = t.sub(round);
            FloatVector r = n.fma(hi, x);
            r = n.fma(lo, r);
            FloatVector p = r.fma(p0, p1).fma(r, p2).fma(r, p3).fma(r, p4).fma(r, p5);
            FloatVector e = p.fma(r.mul(r), r).add(one).reinterpretAsInts()
                    .add(t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
            e.intoArray(sc, at + j);
            sum = e.add(sum);
        }
        float[] lanes = Scratch.floats(5, VL);
        Vec.ZERO.blend(sum, Vec.ALL).intoArray(lanes, 0);
        return 1f / Vec.sumLanes(lanes, 0);
    }
}
