package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Floats.F;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The vector building blocks of attention, forward ({@link AttentionKernel}) and backward ({@link
 * CpuAttentionGradQuery}, {@link CpuAttentionGradKey}), over blocks of {@link #QB} query rows and keys held
 * transposed ([headSize][keysPadded], keys contiguous) so that every loop runs along keys.
 */
final class AttentionMath {
    static final int QB = 4;

    /*
     * e^x in the attention's exponential loops (expShifted, which also serves the lane-wise kernels QueryLaneAttention
     * and TemporalLaneAttention(Grad), expShiftedDot, CpuAttentionGradKey.probabilities; no method of ours takes a
     * vector, so it is written out in each): x below
     * EXP_LOW (−∞ of a masked key) goes to EXP_LOW, whose e^x (about 1e-38) adds nothing to a row's sum; NaN stays
     * NaN. t = x·log2(e) + 1.5·2^23 rounds n = x·log2(e) to an integer in t's low bits; r = x − n·ln 2 in two parts
     * (Cephes' expf); e^r ≈ 1 + r + r²·p(r) with Cephes' degree-5 p (within 1.2e-7 relative of Math.exp); 2^n goes
     * into the exponent by an integer add of t's bits shifted left by 23. Plain IEEE arithmetic throughout, so the
     * interpreter and C2 give the same bits, and about 2× faster than the JDK's vector EXP (its SVML stub) here:
     * 0.19 against 0.33 ns per element, one core, AMD EPYC Zen 5, 2026-12-03.
     */
    static final float EXP_LOW = -87.3f, LOG2E = 1.44269504088896341f, EXP_ROUND = 12582912f;
    static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    static final float EXP_P0 = 1.9875691500e-4f, EXP_P1 = 1.3981999507e-3f, EXP_P2 = 8.3334519073e-3f,
            EXP_P3 = 4.1665795894e-2f, EXP_P4 = 1.6666665459e-1f, EXP_P5 = 5.0000001201e-1f;

    private AttentionMath() {}

    /** dst[i·lp + at + j] = src[base + j·c + col + i] for j &lt; n, i &lt; hs. */
    static void transpose(MemorySegment src, long base, int n, int c, int col, int hs, float[] dst, int lp, int at) {
        for (int j = 0; j < n; j++) {
            long row = base + (long) j * c + col;
            for (int i = 0; i < hs; i++) dst[i * lp + at + j] = Floats.get(src, row + i);
        }
    }

    /**
     * The largest of row[at .. at + jEnd) (jEnd a multiple of VL). Four independent maxima: a float max in Java's
     * semantics (NaN and −0.0) is several instructions, and one chain of them through the row was the single most
     * expensive pass of the attention forward (about 0.25 of its 0.86 ns per score at 8 channels per head, one core,
     * 2026-12-03). Max is exact, so the order does not change the result.
     */
    static float rowMax(float[] row, int at, int jEnd) {
        FloatVector m0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), m1 = m0, m2 = m0, m3 = m0;
        int j = 0;
        for (; j + 4 * VL <= jEnd; j += 4 * VL) {
            m0 = FloatVector.fromArray(S, row, at + j).max(m0);
            m1 = FloatVector.fromArray(S, row, at + j + VL).max(m1);
            m2 = FloatVector.fromArray(S, row, at + j + 2 * VL).max(m2);
            m3 = FloatVector.fromArray(S, row, at + j + 3 * VL).max(m3);
        }
        for (; j < jEnd; j += VL) m0 = FloatVector.fromArray(S, row, at + j).max(m0);
        FloatVector a = Vec.ZERO.blend(m0, Vec.ALL).max(Vec.ZERO.blend(m1, Vec.ALL));
        FloatVector b = Vec.ZERO.blend(m2, Vec.ALL).max(Vec.ZERO.blend(m3, Vec.ALL));
        return a.max(b).reduceLanes(VectorOperators.MAX);
    }

    /**
     * row[at + j] ← e^(row[at + j] − shifts[shAt + j mod VL]) for j &lt; jEnd (a multiple of VL), and the lanes of
     * their sum into sums[sAt, sAt + VL) (for {@link Vec#sumLanes}). One shift in every lane for a row of scores
     * ({@link AttentionKernel}); a shift per lane where each lane is a query of its own ({@link QueryLaneAttention}).
     * A method of its own: the polynomial is about 10,000 IR nodes, and with the rest of a softmax in one compilation
     * C2 went past its inlining budget.
     */
    static void expShifted(float[] row, int at, int jEnd, float[] shifts, int shAt, float[] sums, int sAt) {
        FloatVector sv = FloatVector.fromArray(S, shifts, shAt), sum = FloatVector.zero(S);
        FloatVector low = FloatVector.broadcast(S, EXP_LOW), log2e = FloatVector.broadcast(S, LOG2E);
        FloatVector round = FloatVector.broadcast(S, EXP_ROUND), one = FloatVector.broadcast(S, 1f);
        FloatVector hi = FloatVector.broadcast(S, -LN2_HI), lo = FloatVector.broadcast(S, -LN2_LO);
        FloatVector p0 = FloatVector.broadcast(S, EXP_P0), p1 = FloatVector.broadcast(S, EXP_P1);
        FloatVector p2 = FloatVector.broadcast(S, EXP_P2), p3 = FloatVector.broadcast(S, EXP_P3);
        FloatVector p4 = FloatVector.broadcast(S, EXP_P4), p5 = FloatVector.broadcast(S, EXP_P5);
        for (int j = 0; j < jEnd; j += VL) {
            FloatVector x = FloatVector.fromArray(S, row, at + j).sub(sv);
            x = x.blend(low, x.compare(VectorOperators.LT, low));
            FloatVector t = x.fma(log2e, round), n = t.sub(round);
            FloatVector r = n.fma(hi, x);
            r = n.fma(lo, r);
            FloatVector q = r.fma(p0, p1).fma(r, p2).fma(r, p3).fma(r, p4).fma(r, p5);
            FloatVector e = q.fma(r.mul(r), r).add(one).reinterpretAsInts()
                    .add(t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
            e.intoArray(row, at + j);
            sum = e.add(sum);
        }
        Vec.ZERO.blend(sum, Vec.ALL).intoArray(sums, sAt);
    }

    /** {@link #expShifted}, and the lanes of Σ e·w[wAt + j] into sums[VL, 2·VL). */
    static void expShiftedDot(float[] row, int at, int jEnd, float shift, float[] w, int wAt, float[] sums) {
        FloatVector sv = FloatVector.broadcast(S, shift), sum = FloatVector.zero(S), dot = sum;
        FloatVector low = FloatVector.broadcast(S, EXP_LOW), log2e = FloatVector.broadcast(S, LOG2E);
        FloatVector round = FloatVector.broadcast(S, EXP_ROUND), one = FloatVector.broadcast(S, 1f);
        FloatVector hi = FloatVector.broadcast(S, -LN2_HI), lo = FloatVector.broadcast(S, -LN2_LO);
        FloatVector p0 = FloatVector.broadcast(S, EXP_P0), p1 = FloatVector.broadcast(S, EXP_P1);
        FloatVector p2 = FloatVector.broadcast(S, EXP_P2), p3 = FloatVector.broadcast(S, EXP_P3);
        FloatVector p4 = FloatVector.broadcast(S, EXP_P4), p5 = FloatVector.broadcast(S, EXP_P5);
        for (int j = 0; j < jEnd; j += VL) {
            FloatVector x = FloatVector.fromArray(S, row, at + j).sub(sv);
            x = x.blend(low, x.compare(VectorOperators.LT, low));
            FloatVector t = x.fma(log2e, round), n = t.sub(round);
            FloatVector r = n.fma(hi, x);
            r = n.fma(lo, r);
            FloatVector q = r.fma(p0, p1).fma(r, p2).fma(r, p3).fma(r, p4).fma(r, p5);
            FloatVector e = q.fma(r.mul(r), r).add(one).reinterpretAsInts()
                    .add(t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
            e.intoArray(row, at + j);
            sum = e.add(sum);
            dot = e.fma(FloatVector.fromArray(S, w, wAt + j), dot);
        }
        Vec.ZERO.blend(sum, Vec.ALL).intoArray(sums, 0);
        Vec.ZERO.blend(dot, Vec.ALL).intoArray(sums, VL);
    }

    /** Zeroes columns [from, lp) of the hs rows of a transposed buffer. */
    static void zeroTail(float[] t, int hs, int lp, int from) {
        for (int i = 0; i < hs; i++) java.util.Arrays.fill(t, i * lp + from, (i + 1) * lp, 0f);
    }

    /**
     * out[r·lp + j] = Σ_i rows[r·hs + i] · t[i·lp + j] for the QB rows, j &lt; jEnd (a multiple of VL). Two
     * vectors of keys per step, so each broadcast row value feeds two FMAs.
     */
    static void rowsTimesT(float[] t, int lp, int hs, float[] rows, float[] out, int jEnd) {
        int j = 0;
        for (; j + 2 * VL <= jEnd; j += 2 * VL) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int i = 0, ti = j; i < hs; i++, ti += lp) {
                FloatVector k0 = FloatVector.fromArray(S, t, ti), k1 = FloatVector.fromArray(S, t, ti + VL);
                FloatVector r = FloatVector.broadcast(S, rows[i]);
                a0 = k0.fma(r, a0);
                b0 = k1.fma(r, b0);
                r = FloatVector.broadcast(S, rows[hs + i]);
                a1 = k0.fma(r, a1);
                b1 = k1.fma(r, b1);
                r = FloatVector.broadcast(S, rows[2 * hs + i]);
                a2 = k0.fma(r, a2);
                b2 = k1.fma(r, b2);
                r = FloatVector.broadcast(S, rows[3 * hs + i]);
                a3 = k0.fma(r, a3);
                b3 = k1.fma(r, b3);
            }
            Vec.ZERO.blend(a0, Vec.ALL).intoArray(out, j);
            Vec.ZERO.blend(b0, Vec.ALL).intoArray(out, j + VL);
            Vec.ZERO.blend(a1, Vec.ALL).intoArray(out, lp + j);
            Vec.ZERO.blend(b1, Vec.ALL).intoArray(out, lp + j + VL);
            Vec.ZERO.blend(a2, Vec.ALL).intoArray(out, 2 * lp + j);
            Vec.ZERO.blend(b2, Vec.ALL).intoArray(out, 2 * lp + j + VL);
            Vec.ZERO.blend(a3, Vec.ALL).intoArray(out, 3 * lp + j);
            Vec.ZERO.blend(b3, Vec.ALL).intoArray(out, 3 * lp + j + VL);
        }
        if (j < jEnd) rowsTimesTLast(t, lp, hs, rows, out, j);
    }

    /** {@link #rowsTimesT} for the last single vector of keys at j. */
    private static void rowsTimesTLast(float[] t, int lp, int hs, float[] rows, float[] out, int j) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0, ti = j; i < hs; i++, ti += lp) {
            FloatVector kv = FloatVector.fromArray(S, t, ti);
            a0 = kv.fma(FloatVector.broadcast(S, rows[i]), a0);
            a1 = kv.fma(FloatVector.broadcast(S, rows[hs + i]), a1);
            a2 = kv.fma(FloatVector.broadcast(S, rows[2 * hs + i]), a2);
            a3 = kv.fma(FloatVector.broadcast(S, rows[3 * hs + i]), a3);
        }
        Vec.ZERO.blend(a0, Vec.ALL).intoArray(out, j);
        Vec.ZERO.blend(a1, Vec.ALL).intoArray(out, lp + j);
        Vec.ZERO.blend(a2, Vec.ALL).intoArray(out, 2 * lp + j);
        Vec.ZERO.blend(a3, Vec.ALL).intoArray(out, 3 * lp + j);
    }

    /**
     * dst[base + r·c + i] = factor[r] · Σ_j w[r·lp + j] · t[i·lp + j] for r &lt; nq, i &lt; hs, j &lt; jEnd:
     * the rows of w times the transposed buffer, back in row layout. Two outputs i per pass over the rows of w.
     */
    static void timesTInto(float[] t, int lp, int hs, float[] w, int jEnd, float[] factor, MemorySegment dst, long base,
                           int c, int nq) {
        float[] sums = PAIR.get();
        int i = 0;
        for (; i + 1 < hs; i += 2) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int ti = i * lp, ui = ti + lp;
            for (int j = 0; j < jEnd; j += VL) {
                FloatVector tv = FloatVector.fromArray(S, t, ti + j), uv = FloatVector.fromArray(S, t, ui + j);
                FloatVector w0 = FloatVector.fromArray(S, w, j), w1 = FloatVector.fromArray(S, w, lp + j);
                FloatVector w2 = FloatVector.fromArray(S, w, 2 * lp + j), w3 = FloatVector.fromArray(S, w, 3 * lp + j);
                a0 = w0.fma(tv, a0);
                b0 = w0.fma(uv, b0);
                a1 = w1.fma(tv, a1);
                b1 = w1.fma(uv, b1);
                a2 = w2.fma(tv, a2);
                b2 = w2.fma(uv, b2);
                a3 = w3.fma(tv, a3);
                b3 = w3.fma(uv, b3);
            }
            Vec.ZERO.blend(a0, Vec.ALL).intoArray(sums, 0);
            Vec.ZERO.blend(b0, Vec.ALL).intoArray(sums, VL);
            Vec.ZERO.blend(a1, Vec.ALL).intoArray(sums, 2 * VL);
            Vec.ZERO.blend(b1, Vec.ALL).intoArray(sums, 3 * VL);
            Vec.ZERO.blend(a2, Vec.ALL).intoArray(sums, 4 * VL);
            Vec.ZERO.blend(b2, Vec.ALL).intoArray(sums, 5 * VL);
            Vec.ZERO.blend(a3, Vec.ALL).intoArray(sums, 6 * VL);
            Vec.ZERO.blend(b3, Vec.ALL).intoArray(sums, 7 * VL);
            storePair(sums, factor, dst, base + i, c, nq);
        }
        if (i < hs) timesTIntoLast(t, lp, i, w, jEnd, factor, dst, base, c, nq);
    }

    /** Per-thread room for the eight accumulators of a pair of outputs. */
    private static final ThreadLocal<float[]> PAIR = ThreadLocal.withInitial(() -> new float[8 * VL]);

    /**
     * dst[at + r·c] = Σ lanes of accumulator 2r · factor[r] and dst[at + r·c + 1] = Σ lanes of accumulator 2r + 1 ·
     * factor[r], for r &lt; nq: the lane sums by {@link Vec#sumLanes}'s tree, in scalar code (a tree of vector
     * rotations would carry vectors around a loop, which C2 does not always keep in registers), and the scalar
     * stores to the segment (~700 IR nodes each) out of the vector method.
     */
    private static void storePair(float[] sums, float[] factor, MemorySegment dst, long at, int c, int nq) {
        for (int r = 0; r < nq; r++, at += c) {
            dst.set(F, at << 2, Vec.sumLanes(sums, 2 * r * VL) * factor[r]);
            dst.set(F, (at + 1) << 2, Vec.sumLanes(sums, (2 * r + 1) * VL) * factor[r]);
        }
    }

    /** {@link #timesTInto} for the last output i of an odd head size. */
    private static void timesTIntoLast(float[] t, int lp, int i, float[] w, int jEnd, float[] factor, MemorySegment dst,
                                       long base, int c, int nq) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int ti = i * lp;
        for (int j = 0; j < jEnd; j += VL) {
            FloatVector tv = FloatVector.fromArray(S, t, ti + j);
            a0 = FloatVector.fromArray(S, w, j).fma(tv, a0);
            a1 = FloatVector.fromArray(S, w, lp + j).fma(tv, a1);
            a2 = FloatVector.fromArray(S, w, 2 * lp + j).fma(tv, a2);
            a3 = FloatVector.fromArray(S, w, 3 * lp + j).fma(tv, a3);
        }
        float[] sums = PAIR.get();
        Vec.ZERO.blend(a0, Vec.ALL).intoArray(sums, 0);
        Vec.ZERO.blend(a1, Vec.ALL).intoArray(sums, VL);
        Vec.ZERO.blend(a2, Vec.ALL).intoArray(sums, 2 * VL);
        Vec.ZERO.blend(a3, Vec.ALL).intoArray(sums, 3 * VL);
        long at = base + i;
        for (int r = 0; r < nq; r++, at += c) dst.set(F, at << 2, Vec.sumLanes(sums, r * VL) * factor[r]);
    }

    /**
     * acc[i·lp + j] += Σ_r rows[r·hs + i] · w[r·lp + j] for j &lt; jEnd: rank-QB update of a transposed buffer,
     * two vectors of keys per step so each broadcast feeds two FMAs.
     */
    static void addOuter(float[] acc, int lp, int hs, float[] rows, float[] w, int jEnd) {
        int j = 0;
        for (; j + 2 * VL <= jEnd; j += 2 * VL) {
            FloatVector w0 = FloatVector.fromArray(S, w, j), w1 = FloatVector.fromArray(S, w, lp + j);
            FloatVector w2 = FloatVector.fromArray(S, w, 2 * lp + j), w3 = FloatVector.fromArray(S, w, 3 * lp + j);
            FloatVector u0 = FloatVector.fromArray(S, w, j + VL), u1 = FloatVector.fromArray(S, w, lp + j + VL);
            FloatVector u2 = FloatVector.fromArray(S, w, 2 * lp + j + VL), u3 = FloatVector.fromArray(S, w, 3 * lp + j + VL);
            for (int i = 0, ai = j; i < hs; i++, ai += lp) {
                FloatVector a = FloatVector.fromArray(S, acc, ai), b = FloatVector.fromArray(S, acc, ai + VL);
                FloatVector r = FloatVector.broadcast(S, rows[i]);
                a = w0.fma(r, a);
                b = u0.fma(r, b);
                r = FloatVector.broadcast(S, rows[hs + i]);
                a = w1.fma(r, a);
                b = u1.fma(r, b);
                r = FloatVector.broadcast(S, rows[2 * hs + i]);
                a = w2.fma(r, a);
                b = u2.fma(r, b);
                r = FloatVector.broadcast(S, rows[3 * hs + i]);
                a = w3.fma(r, a);
                b = u3.fma(r, b);
                a.intoArray(acc, ai);
                b.intoArray(acc, ai + VL);
            }
        }
        for (; j < jEnd; j += VL) {
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
            for (int i = 0; i < hs; i++) Floats.set(dst, row + i, t[i * lp + j]);
        }
    }
}
