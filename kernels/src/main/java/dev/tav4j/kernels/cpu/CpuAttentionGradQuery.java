package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.AttentionMath.QB;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The query side of the attention backward for one (image, head, query range): per block of queries, the score
 * rows S = scale·q·Kᵀ and dP = dO·Vᵀ, the softmax P recomputed with max subtraction, D = Σ_j P·dP (= dO·O),
 * dS = P ⊙ (dP − D) and dQ = scale·dS·K. It also leaves each row's log-sum-exp and D for the key side.
 */
final class CpuAttentionGradQuery {
    private CpuAttentionGradQuery() {}

    /**
     * @param qBase float index of the image's first query row (rows are c floats apart), also for dO and dQ
     * @param key0  float index of the first key image; key1 a second one (−1: none), lk tokens each
     * @param stat  index of the image-head's first row in lse and dd
     */
    static void run(MemorySegment qs, MemorySegment dos, MemorySegment dqs, long qBase, int q0, int q1,
                    MemorySegment ks, MemorySegment vs, long key0, long key1, int lk, int keys, int c, int col, int hs,
                    float scale, boolean causal, float[] lse, float[] dd, int stat) {
        int lp = Floats.roundUp(keys, VL);
        float[] kt = Scratch.floats(0, hs * lp), vt = Scratch.floats(1, hs * lp);
        float[] sc = Scratch.floats(2, QB * lp), dp = Scratch.floats(3, QB * lp);
        float[] qb = Scratch.floats(4, QB * hs), ob = Scratch.floats(5, QB * hs);
        AttentionMath.transpose(ks, key0, lk, c, col, hs, kt, lp, 0);
        AttentionMath.transpose(vs, key0, lk, c, col, hs, vt, lp, 0);
        if (key1 >= 0) {
            AttentionMath.transpose(ks, key1, lk, c, col, hs, kt, lp, lk);
            AttentionMath.transpose(vs, key1, lk, c, col, hs, vt, lp, lk);
        }
        AttentionMath.zeroTail(kt, hs, lp, keys);
        AttentionMath.zeroTail(vt, hs, lp, keys);
        float[] scales = Scratch.floats(6, QB);  // QB rows, one factor each
        java.util.Arrays.fill(scales, 0, QB, scale);
        for (int qi = q0; qi < q1; qi += QB) {
            int nq = Math.min(QB, q1 - qi);
            int end = 0;
            for (int r = 0; r < QB; r++) {
                int row = qi + Math.min(r, nq - 1);
                long src = qBase + (long) row * c + col;
                for (int i = 0; i < hs; i++) {
                    qb[r * hs + i] = Floats.get(qs, src + i) * scale;
                    ob[r * hs + i] = Floats.get(dos, src + i);
                }
                end = Math.max(end, causal ? Math.min(keys, row + 1) : keys);
            }
            int jEnd = Floats.roundUp(end, VL);
            AttentionMath.rowsTimesT(kt, lp, hs, qb, sc, jEnd);
            AttentionMath.rowsTimesT(vt, lp, hs, ob, dp, jEnd);
            for (int r = 0; r < QB; r++) {
                if (r >= nq) {
                    java.util.Arrays.fill(sc, r * lp, r * lp + jEnd, 0f);
                    continue;
                }
                softmaxGrad(sc, dp, r * lp, causal ? Math.min(keys, qi + r + 1) : keys, jEnd, lse, dd, stat + qi + r);
            }
            AttentionMath.timesTInto(kt, lp, hs, sc, jEnd, scales, dqs, qBase + (long) qi * c + col, c, nq);
        }
    }

    /**
     * Turns the score row at {@code at} into dS = P ⊙ (dP − D) in place (zero from limit on) and stores the
     * row's lse and D at s. Three passes: the max; e = exp(s − max) ({@link AttentionMath}'s polynomial) with Σe and Σe·dP;
     * dS = e/Σe·(dP − D).
     */
    static void softmaxGrad(float[] sc, float[] dp, int at, int limit, int jEnd, float[] lse, float[] dd, int s) {
        for (int j = limit; j < jEnd; j++) sc[at + j] = Float.NEGATIVE_INFINITY;
        float m = AttentionMath.rowMax(sc, at, jEnd);
        float[] lanes = Scratch.floats(7, 2 * VL);
        AttentionMath.expShiftedDot(sc, at, jEnd, m, dp, at, lanes);
        float total = Vec.sumLanes(lanes, 0), inv = 1f / total;
        float d = Vec.sumLanes(lanes, VL) * inv;
        FloatVector iv = FloatVector.broadcast(S, inv), dv = FloatVector.broadcast(S, d);
        for (int j = 0; j < jEnd; j += VL) {
            FloatVector p = FloatVector.fromArray(S, sc, at + j).mul(iv);
            p.mul(FloatVector.fromArray(S, dp, at + j).sub(dv)).intoArray(sc, at + j);
        }
        lse[s] = m + (float) Math.log(total);
        dd[s] = d;
    }
}
