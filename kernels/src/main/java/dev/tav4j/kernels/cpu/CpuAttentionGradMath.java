package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The vector building blocks of the attention backward, over blocks of {@link #QB} query rows and keys held
 * transposed ([headSize][keysPadded], keys contiguous) so that every loop runs along keys.
 */
final class CpuAttentionGradMath {
    static final int QB = 4;

    private CpuAttentionGradMath() {}

    /** dst[i·lp + at + j] = src[base + j·c + col + i] for j &lt; n, i &lt; hs. */
    static void transpose(MemorySegment src, long base, int n, int c, int col, int hs, float[] dst, int lp, int at) {
        for (int j = 0; j < n; j++) {
            long row = base + (long) j * c + col;
            for (int i = 0; i < hs; i++) dst[i * lp + at + j] = Vec.get(src, row + i);
        }
    }

    /** Zeroes columns [from, lp) of the hs rows of a transposed buffer. */
    static void zeroTail(float[] t, int hs, int lp, int from) {
        for (int i = 0; i < hs; i++) java.util.Arrays.fill(t, i * lp + from, (i + 1) * lp, 0f);
    }

    /** out[r·lp + j] = Σ_i rows[r·hs + i] · t[i·lp + j] for the QB rows, j &lt; jEnd (a multiple of VL). */
    static void rowsTimesT(float[] t, int lp, int hs, float[] rows, float[] out, int jEnd) {
        for (int j = 0; j < jEnd; j += VL) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0, ti = j; i < hs; i++, ti += lp) {
                FloatVector kv = FloatVector.fromArray(S, t, ti);
                a0 = kv.fma(FloatVector.broadcast(S, rows[i]), a0);
                a1 = kv.fma(FloatVector.broadcast(S, rows[hs + i]), a1);
                a2 = kv.fma(FloatVector.broadcast(S, rows[2 * hs + i]), a2);
                a3 = kv.fma(FloatVector.broadcast(S, rows[3 * hs + i]), a3);
            }
            a0.intoArray(out, j);
            a1.intoArray(out, lp + j);
            a2.intoArray(out, 2 * lp + j);
            a3.intoArray(out, 3 * lp + j);
        }
    }

    /**
     * dst[base + r·c + i] = factor · Σ_j w[r·lp + j] · t[i·lp + j] for r &lt; nq, i &lt; hs, j &lt; jEnd:
     * the rows of w times the transposed buffer, back in row layout.
     */
    static void timesTInto(float[] t, int lp, int hs, float[] w, int jEnd, float factor, MemorySegment dst, long base,
                           int c, int nq) {
        for (int i = 0; i < hs; i++) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int ti = i * lp;
            for (int j = 0; j < jEnd; j += VL) {
                FloatVector tv = FloatVector.fromArray(S, t, ti + j);
                a0 = FloatVector.fromArray(S, w, j).fma(tv, a0);
                a1 = FloatVector.fromArray(S, w, lp + j).fma(tv, a1);
                a2 = FloatVector.fromArray(S, w, 2 * lp + j).fma(tv, a2);
                a3 = FloatVector.fromArray(S, w, 3 * lp + j).fma(tv, a3);
            }
            Vec.set(dst, base + i, a0.reduceLanes(VectorOperators.ADD) * factor);
            if (nq > 1) Vec.set(dst, base + c + i, a1.reduceLanes(VectorOperators.ADD) * factor);
            if (nq > 2) Vec.set(dst, base + 2L * c + i, a2.reduceLanes(VectorOperators.ADD) * factor);
            if (nq > 3) Vec.set(dst, base + 3L * c + i, a3.reduceLanes(VectorOperators.ADD) * factor);
        }
    }

    /** acc[i·lp + j] += Σ_r rows[r·hs + i] · w[r·lp + j] for j &lt; jEnd: rank-QB update of a transposed buffer. */
    static void addOuter(float[] acc, int lp, int hs, float[] rows, float[] w, int jEnd) {
        for (int j = 0; j < jEnd; j += VL) {
            FloatVector w0 = FloatVector.fromArray(S, w, j), w1 = FloatVector.fromArray(S, w, lp + j);
            FloatVector w2 = FloatVector.fromArray(S, w, 2 * lp + j), w3 = FloatVector.fromArray(S, w, 3 * lp + j);
            for (int i = 0, ai = j; i < hs; i++, ai += lp) {
                FloatVector a = FloatVector.fromArray(S, acc, ai);
                a = w0.fma(FloatVector.broadcast(S, rows[i]), a);
                a = w1.fma(FloatVector.broadcast(S, rows[hs + i]), a);
                a = w2.fma(FloatVector.broadcast(S, rows[2 * hs + i]), a);
                a = w3.fma(FloatVector.broadcast(S, rows[3 * hs + i]), a);
                a.intoArray(acc, ai);
            }
        }
    }

    /** Writes a transposed buffer back: dst[base + j·c + col + i] = t[i·lp + j] for j &lt; n, i &lt; hs. */
    static void untranspose(float[] t, int lp, int hs, int n, MemorySegment dst, long base, int c, int col) {
        for (int j = 0; j < n; j++) {
            long row = base + (long) j * c + col;
            for (int i = 0; i < hs; i++) Vec.set(dst, row + i, t[i * lp + j]);
        }
    }
}
