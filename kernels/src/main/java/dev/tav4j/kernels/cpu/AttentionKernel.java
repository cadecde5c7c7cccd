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
 * (never the whole score matrix). Padding keys get −∞ before the softmax.
 */
final class AttentionKernel {
    static final int QB = 4;

    private AttentionKernel() {}

    /**
     * @param qBase  float index of the image's first query row; rows are c floats apart
     * @param key0   float index of the first key image in k and v; key1 a second one (−1: none), lk tokens each
     * @param col    first channel of the head; hs its size
     */
    static void run(MemorySegment qs, long qBase, int q0, int q1, MemorySegment ks, MemorySegment vs, long key0,
                    long key1, int lk, int keys, int c, int col, int hs, float scale, boolean causal, MemorySegment os) {
        int lp = Vec.roundUp(keys, 2 * VL);
        float[] kt = Scratch.floats(0, hs * lp), vt = Scratch.floats(1, hs * lp);
        float[] sc = Scratch.floats(2, QB * lp), qb = Scratch.floats(3, QB * hs);
        transpose(ks, key0, lk, c, col, hs, kt, lp, 0);
        transpose(vs, key0, lk, c, col, hs, vt, lp, 0);
        if (key1 >= 0) {
            transpose(ks, key1, lk, c, col, hs, kt, lp, lk);
            transpose(vs, key1, lk, c, col, hs, vt, lp, lk);
        }
        for (int i = 0; i < hs; i++) {
            java.util.Arrays.fill(kt, i * lp + keys, (i + 1) * lp, 0f);
            java.util.Arrays.fill(vt, i * lp + keys, (i + 1) * lp, 0f);
        }
        float[] inv = new float[QB];
        int[] limit = new int[QB];
        for (int qi = q0; qi < q1; qi += QB) {
            int nq = Math.min(QB, q1 - qi);
            int end = 0;
            for (int r = 0; r < QB; r++) {
                int row = qi + Math.min(r, nq - 1);
                long src = qBase + (long) row * c + col;
                for (int i = 0; i < hs; i++) qb[r * hs + i] = Vec.get(qs, src + i) * scale;
                limit[r] = causal ? Math.min(keys, row + 1) : keys;
                end = Math.max(end, limit[r]);
            }
            int jEnd = Vec.roundUp(end, 2 * VL);
            scores(kt, lp, hs, qb, sc, jEnd);
            for (int r = 0; r < QB; r++) inv[r] = softmax(sc, r * lp, limit[r], jEnd);
            weighted(vt, lp, hs, sc, jEnd, inv, os, qBase + (long) qi * c + col, c, nq);
        }
    }

    /** dst[i·lp + at + j] = src[base + j·c + col + i] for j < lk, i < hs. */
    private static void transpose(MemorySegment src, long base, int lk, int c, int col, int hs, float[] dst, int lp, int at) {
        for (int j = 0; j < lk; j++) {
            long row = base + (long) j * c + col;
            for (int i = 0; i < hs; i++) dst[i * lp + at + j] = Vec.get(src, row + i);
        }
    }

    /** sc[r·lp + j] = Σ_i qb[r·hs + i] · kt[i·lp + j] for the QB rows, j < jEnd (a multiple of 2·VL). */
    private static void scores(float[] kt, int lp, int hs, float[] qb, float[] sc, int jEnd) {
        for (int j = 0; j < jEnd; j += 2 * VL) {
            // two key vectors × four queries: eight independent FMA chains
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int i = 0, ki = j; i < hs; i++, ki += lp) {
                FloatVector k0 = FloatVector.fromArray(S, kt, ki), k1 = FloatVector.fromArray(S, kt, ki + VL);
                FloatVector q = FloatVector.broadcast(S, qb[i]);
                a0 = k0.fma(q, a0);
                b0 = k1.fma(q, b0);
                q = FloatVector.broadcast(S, qb[hs + i]);
                a1 = k0.fma(q, a1);
                b1 = k1.fma(q, b1);
                q = FloatVector.broadcast(S, qb[2 * hs + i]);
                a2 = k0.fma(q, a2);
                b2 = k1.fma(q, b2);
                q = FloatVector.broadcast(S, qb[3 * hs + i]);
                a3 = k0.fma(q, a3);
                b3 = k1.fma(q, b3);
            }
            a0.intoArray(sc, j);
            b0.intoArray(sc, j + VL);
            a1.intoArray(sc, lp + j);
            b1.intoArray(sc, lp + j + VL);
            a2.intoArray(sc, 2 * lp + j);
            b2.intoArray(sc, 2 * lp + j + VL);
            a3.intoArray(sc, 3 * lp + j);
            b3.intoArray(sc, 3 * lp + j + VL);
        }
    }

    /** Masks keys from limit on, replaces the row by exp(s − max) and returns 1 / Σ. */
    private static float softmax(float[] sc, int at, int limit, int jEnd) {
        for (int j = limit; j < jEnd; j++) sc[at + j] = Float.NEGATIVE_INFINITY;
        FloatVector mx = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < jEnd; j += VL) mx = mx.max(FloatVector.fromArray(S, sc, at + j));
        float m = mx.reduceLanes(VectorOperators.MAX);
        FloatVector mv = FloatVector.broadcast(S, m), sum = FloatVector.zero(S);
        for (int j = 0; j < jEnd; j += VL) {
            FloatVector d = FloatVector.fromArray(S, sc, at + j).sub(mv);
            FloatVector e = VMath.exp(d);
            e.intoArray(sc, at + j);
            sum = sum.add(e);
        }
        return 1f / Vec.sum(sum);
    }

    /** out[r, i] = inv[r] · Σ_j p[r, j] · vt[i, j] for the first nq rows; two channels at a time (eight FMA chains). */
    private static void weighted(float[] vt, int lp, int hs, float[] sc, int jEnd, float[] inv, MemorySegment os,
                                 long outBase, int c, int nq) {
        int i = 0;
        for (; i + 1 < hs; i += 2) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int vi = i * lp;
            for (int j = 0; j < jEnd; j += VL) {
                FloatVector v0 = FloatVector.fromArray(S, vt, vi + j), v1 = FloatVector.fromArray(S, vt, vi + lp + j);
                FloatVector p = FloatVector.fromArray(S, sc, j);
                a0 = p.fma(v0, a0);
                b0 = p.fma(v1, b0);
                p = FloatVector.fromArray(S, sc, lp + j);
                a1 = p.fma(v0, a1);
                b1 = p.fma(v1, b1);
                p = FloatVector.fromArray(S, sc, 2 * lp + j);
                a2 = p.fma(v0, a2);
                b2 = p.fma(v1, b2);
                p = FloatVector.fromArray(S, sc, 3 * lp + j);
                a3 = p.fma(v0, a3);
                b3 = p.fma(v1, b3);
            }
            put(os, outBase + i, c, nq, inv, a0, a1, a2, a3);
            put(os, outBase + i + 1, c, nq, inv, b0, b1, b2, b3);
        }
        if (i < hs) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int vi = i * lp;
            for (int j = 0; j < jEnd; j += VL) {
                FloatVector v0 = FloatVector.fromArray(S, vt, vi + j);
                a0 = FloatVector.fromArray(S, sc, j).fma(v0, a0);
                a1 = FloatVector.fromArray(S, sc, lp + j).fma(v0, a1);
                a2 = FloatVector.fromArray(S, sc, 2 * lp + j).fma(v0, a2);
                a3 = FloatVector.fromArray(S, sc, 3 * lp + j).fma(v0, a3);
            }
            put(os, outBase + i, c, nq, inv, a0, a1, a2, a3);
        }
    }

    private static void put(MemorySegment os, long at, int c, int nq, float[] inv, FloatVector a0, FloatVector a1,
                            FloatVector a2, FloatVector a3) {
        Vec.set(os, at, Vec.sum(a0) * inv[0]);
        if (nq > 1) Vec.set(os, at + c, Vec.sum(a1) * inv[1]);
        if (nq > 2) Vec.set(os, at + 2L * c, Vec.sum(a2) * inv[2]);
        if (nq > 3) Vec.set(os, at + 3L * c, Vec.sum(a3) * inv[3]);
    }
}
