package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * One (image, head, query range) of attention over few keys (cross-attention's 77 text tokens; any non-causal
 * attention up to {@link #MAX_KEYS} keys), vectorised over queries instead of keys. {@link AttentionKernel} runs
 * along keys, which at 77 keys pads each score row to 96 and ends every output in a sum of vector lanes: at 8
 * channels per head those sums, the per-row softmax calls and the padding took most of its time. Here VL query
 * rows go transposed into qt [headSize][VL], so one vector holds a key's score for VL queries: the max, the
 * exponential, the sum and every output are lane-wise, with no padding and no lane sums. The head's keys and values
 * are copied as rows, and each product FMAs a query vector with one broadcast key or value element.
 */
final class QueryLaneAttention {
    /** Above this many keys the VL × keys scores would leave the L1 cache; {@link AttentionKernel} runs then. */
    static final int MAX_KEYS = 256;
    /** Keys per step of the scores and outputs per pass of P·V: eight independent FMA chains. */
    private static final int KS = 8, OS = 8;

    private QueryLaneAttention() {}

    /** The arguments of {@link AttentionKernel#run} without causality; keys ≤ {@link #MAX_KEYS}. */
    static void run(MemorySegment qs, long qBase, int q0, int q1, MemorySegment ks, MemorySegment vs, long key0,
                    long key1, int lk, int keys, int c, int col, int hs, float scale, MemorySegment os) {
        int kp = Floats.roundUp(keys, KS), hp = Floats.roundUp(hs, OS);
        float[] kr = Scratch.floats(0, kp * hs), vr = Scratch.floats(1, keys * hp);
        float[] qt = Scratch.floats(2, hs * VL), sc = Scratch.floats(3, kp * VL);
        float[] ot = Scratch.floats(4, hp * VL), lanes = Scratch.floats(5, 2 * VL);
        Floats.gatherRows(ks, key0, lk, c, col, hs, kr, hs, 0);
        Floats.gatherRows(vs, key0, lk, c, col, hs, vr, hp, 0);
        if (key1 >= 0) {
            Floats.gatherRows(ks, key1, lk, c, col, hs, kr, hs, lk);
            Floats.gatherRows(vs, key1, lk, c, col, hs, vr, hp, lk);
        }
        java.util.Arrays.fill(kr, keys * hs, kp * hs, 0f);  // scores of padding keys are computed and never read
        if (hp > hs) for (int j = 0; j < keys; j++) java.util.Arrays.fill(vr, j * hp + hs, (j + 1) * hp, 0f);
        for (int qi = q0; qi < q1; qi += VL) {
            int nq = Math.min(VL, q1 - qi);
            for (int lane = 0; lane < VL; lane++) {  // lanes past nq repeat the last row, computed and never stored
                long src = qBase + (long) (qi + Math.min(lane, nq - 1)) * c + col;
                for (int i = 0; i < hs; i++) qt[i * VL + lane] = Floats.get(qs, src + i) * scale;
            }
            scores(qt, hs, kr, kp, sc);
            maxLanes(sc, keys, lanes);
            expLanes(sc, keys, lanes);
            weighted(sc, keys, vr, hp, lanes, ot);
            for (int lane = 0; lane < nq; lane++) {
                long dst = qBase + (long) (qi + lane) * c + col;
                for (int i = 0; i < hs; i++) Floats.set(os, dst + i, ot[i * VL + lane]);
            }
        }
    }

    /** sc[j·VL + lane] = Σ_i qt[i·VL + lane] · kr[j·hs + i] for j &lt; kp (a multiple of {@link #KS}). */
    private static void scores(float[] qt, int hs, float[] kr, int kp, float[] sc) {
        for (int j = 0; j < kp; j += KS) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int i = 0, k = j * hs; i < hs; i++, k++) {
                FloatVector q = FloatVector.fromArray(S, qt, i * VL);
                a0 = q.fma(FloatVector.broadcast(S, kr[k]), a0);
                a1 = q.fma(FloatVector.broadcast(S, kr[k + hs]), a1);
                a2 = q.fma(FloatVector.broadcast(S, kr[k + 2 * hs]), a2);
                a3 = q.fma(FloatVector.broadcast(S, kr[k + 3 * hs]), a3);
                a4 = q.fma(FloatVector.broadcast(S, kr[k + 4 * hs]), a4);
                a5 = q.fma(FloatVector.broadcast(S, kr[k + 5 * hs]), a5);
                a6 = q.fma(FloatVector.broadcast(S, kr[k + 6 * hs]), a6);
                a7 = q.fma(FloatVector.broadcast(S, kr[k + 7 * hs]), a7);
            }
            int at = j * VL;
            Vec.ZERO.blend(a0, Vec.ALL).intoArray(sc, at);
            Vec.ZERO.blend(a1, Vec.ALL).intoArray(sc, at + VL);
            Vec.ZERO.blend(a2, Vec.ALL).intoArray(sc, at + 2 * VL);
            Vec.ZERO.blend(a3, Vec.ALL).intoArray(sc, at + 3 * VL);
            Vec.ZERO.blend(a4, Vec.ALL).intoArray(sc, at + 4 * VL);
            Vec.ZERO.blend(a5, Vec.ALL).intoArray(sc, at + 5 * VL);
            Vec.ZERO.blend(a6, Vec.ALL).intoArray(sc, at + 6 * VL);
            Vec.ZERO.blend(a7, Vec.ALL).intoArray(sc, at + 7 * VL);
        }
    }

    /** lanes[0, VL) = the lane-wise max of the keys' score vectors (four chains; max is exact, so any order). */
    static void maxLanes(float[] sc, int keys, float[] lanes) {
        FloatVector m0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), m1 = m0, m2 = m0, m3 = m0;
        int j = 0;
        for (; j + 4 <= keys; j += 4) {
            m0 = FloatVector.fromArray(S, sc, j * VL).max(m0);
            m1 = FloatVector.fromArray(S, sc, (j + 1) * VL).max(m1);
            m2 = FloatVector.fromArray(S, sc, (j + 2) * VL).max(m2);
            m3 = FloatVector.fromArray(S, sc, (j + 3) * VL).max(m3);
        }
        for (; j < keys; j++) m0 = FloatVector.fromArray(S, sc, j * VL).max(m0);
        FloatVector a = Vec.ZERO.blend(m0, Vec.ALL).max(Vec.ZERO.blend(m1, Vec.ALL));
        a.max(Vec.ZERO.blend(m2, Vec.ALL).max(Vec.ZERO.blend(m3, Vec.ALL))).intoArray(lanes, 0);
    }

    /**
     * sc[j·VL + lane] ← e^(sc[j·VL + lane] − lanes[lane]) for j &lt; keys ({@link AttentionMath#expShifted}: the keys'
     * score vectors lie back to back, so they are one row with a shift per lane), and lanes[VL, 2·VL) = 1 / their
     * lane-wise sum.
     */
    static void expLanes(float[] sc, int keys, float[] lanes) {
        AttentionMath.expShifted(sc, 0, keys * VL, lanes, 0, lanes, VL);
        FloatVector.broadcast(S, 1f).div(FloatVector.fromArray(S, lanes, VL)).intoArray(lanes, VL);
    }

    /**
     * ot[i·VL + lane] = lanes[VL + lane] · Σ_j sc[j·VL + lane] · vr[j·hp + i] for i &lt; hp (a multiple of
     * {@link #OS}): {@link #OS} outputs per pass over the probabilities.
     */
    private static void weighted(float[] sc, int keys, float[] vr, int hp, float[] lanes, float[] ot) {
        for (int i = 0; i < hp; i += OS) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int j = 0, k = i; j < keys; j++, k += hp) {
                FloatVector p = FloatVector.fromArray(S, sc, j * VL);
                a0 = p.fma(FloatVector.broadcast(S, vr[k]), a0);
                a1 = p.fma(FloatVector.broadcast(S, vr[k + 1]), a1);
                a2 = p.fma(FloatVector.broadcast(S, vr[k + 2]), a2);
                a3 = p.fma(FloatVector.broadcast(S, vr[k + 3]), a3);
                a4 = p.fma(FloatVector.broadcast(S, vr[k + 4]), a4);
                a5 = p.fma(FloatVector.broadcast(S, vr[k + 5]), a5);
                a6 = p.fma(FloatVector.broadcast(S, vr[k + 6]), a6);
                a7 = p.fma(FloatVector.broadcast(S, vr[k + 7]), a7);
            }
            FloatVector inv = FloatVector.fromArray(S, lanes, VL);
            int at = i * VL;
            inv.mul(Vec.ZERO.blend(a0, Vec.ALL)).intoArray(ot, at);
            inv.mul(Vec.ZERO.blend(a1, Vec.ALL)).intoArray(ot, at + VL);
            inv.mul(Vec.ZERO.blend(a2, Vec.ALL)).intoArray(ot, at + 2 * VL);
            inv.mul(Vec.ZERO.blend(a3, Vec.ALL)).intoArray(ot, at + 3 * VL);
            inv.mul(Vec.ZERO.blend(a4, Vec.ALL)).intoArray(ot, at + 4 * VL);
            inv.mul(Vec.ZERO.blend(a5, Vec.ALL)).intoArray(ot, at + 5 * VL);
            inv.mul(Vec.ZERO.blend(a6, Vec.ALL)).intoArray(ot, at + 6 * VL);
            inv.mul(Vec.ZERO.blend(a7, Vec.ALL)).intoArray(ot, at + 7 * VL);
        }
    }
}
