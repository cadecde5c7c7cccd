package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.AttentionMath.QB;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The key side of the attention backward for one (key image, head, key range): it owns dK and dV of those
 * keys and loops over every query image that read them (so no two work items write the same row), recomputing
 * P = exp(scale·q·k − lse) from the log-sum-exp the query side left, dP = dO·V and dS = P ⊙ (dP − D):
 * dV += Pᵀ·dO, dK += scale·dSᵀ·Q. Both are accumulated transposed in per-thread buffers and written once.
 */
final class CpuAttentionGradKey {
    private CpuAttentionGradKey() {}

    /**
     * @param keyBase float index of the key image's first row in k, v, dK, dV; keys [j0, j1) of it
     * @param readers float indices of the first query row of each query image that read these keys (a query
     *                image that read them twice is listed twice); statRows the matching first rows in lse, dd
     */
    static void run(MemorySegment qs, MemorySegment dos, MemorySegment ks, MemorySegment vs, MemorySegment dks,
                    MemorySegment dvs, long keyBase, int j0, int j1, long[] readers, int[] statRows, int nReaders,
                    int lq, int c, int col, int hs, float scale, boolean causal, float[] lse, float[] dd) {
        int kc = j1 - j0, kp = Floats.roundUp(kc, VL);
        float[] kt = Scratch.floats(0, hs * kp), vt = Scratch.floats(1, hs * kp);
        float[] dkt = Scratch.floats(2, hs * kp), dvt = Scratch.floats(3, hs * kp);
        float[] sc = Scratch.floats(4, QB * kp), dp = Scratch.floats(5, QB * kp);
        float[] qb = Scratch.floats(6, QB * hs), ob = Scratch.floats(7, QB * hs);
        long chunkBase = keyBase + (long) j0 * c;
        AttentionMath.transpose(ks, chunkBase, kc, c, col, hs, kt, kp, 0);
        AttentionMath.transpose(vs, chunkBase, kc, c, col, hs, vt, kp, 0);
        AttentionMath.zeroTail(kt, hs, kp, kc);
        AttentionMath.zeroTail(vt, hs, kp, kc);
        java.util.Arrays.fill(dkt, 0, hs * kp, 0f);
        java.util.Arrays.fill(dvt, 0, hs * kp, 0f);
        int first = causal ? j0 : 0; // a causal query row i sees keys 0..i
        for (int rd = 0; rd < nReaders; rd++) {
            long qBase = readers[rd];
            int stat = statRows[rd];
            for (int qi = first; qi < lq; qi += QB) {
                int nq = Math.min(QB, lq - qi);
                for (int r = 0; r < QB; r++) {
                    int row = qi + Math.min(r, nq - 1);
                    long src = qBase + (long) row * c + col;
                    for (int i = 0; i < hs; i++) {
                        qb[r * hs + i] = Floats.get(qs, src + i) * scale;
                        ob[r * hs + i] = Floats.get(dos, src + i);
                    }
                }
                AttentionMath.rowsTimesT(kt, kp, hs, qb, sc, kp);
                AttentionMath.rowsTimesT(vt, kp, hs, ob, dp, kp);
                for (int r = 0; r < QB; r++) {
                    int row = qi + r;
                    int valid = r >= nq ? 0 : causal ? Math.min(kc, row - j0 + 1) : kc;
                    float l = r >= nq ? 0f : lse[stat + row], d = r >= nq ? 0f : dd[stat + row];
                    probabilities(sc, dp, r * kp, kp, valid, l, d);
                }
                AttentionMath.addOuter(dvt, kp, hs, ob, sc, kp);
                AttentionMath.addOuter(dkt, kp, hs, qb, dp, kp);
            }
        }
        if (dks != null) AttentionMath.untranspose(dkt, kp, hs, kc, dks, chunkBase, c, col);
        if (dvs != null) AttentionMath.untranspose(dvt, kp, hs, kc, dvs, chunkBase, c, col);
    }

    /**
     * In place: sc → P = exp(s − lse) ({@link AttentionMath}'s polynomial), dp → dS = P ⊙ (dP − D); both zero from
     * {@code valid} on. One loop over whole vectors up to the one holding the boundary, then the lanes from valid
     * on are zeroed (no mask).
     */
    static void probabilities(float[] sc, float[] dp, int at, int kp, int valid, float lse, float d) {
        FloatVector lv = FloatVector.broadcast(S, lse), dv = FloatVector.broadcast(S, d);
        FloatVector low = FloatVector.broadcast(S, AttentionMath.EXP_LOW), log2e = FloatVector.broadcast(S, AttentionMath.LOG2E);
        FloatVector round = FloatVector.broadcast(S, AttentionMath.EXP_ROUND), one = FloatVector.broadcast(S, 1f);
        FloatVector hi = FloatVector.broadcast(S, -AttentionMath.LN2_HI), lo = FloatVector.broadcast(S, -AttentionMath.LN2_LO);
        FloatVector p0 = FloatVector.broadcast(S, AttentionMath.EXP_P0), p1 = FloatVector.broadcast(S, AttentionMath.EXP_P1);
        FloatVector p2 = FloatVector.broadcast(S, AttentionMath.EXP_P2), p3 = FloatVector.broadcast(S, AttentionMath.EXP_P3);
        FloatVector p4 = FloatVector.broadcast(S, AttentionMath.EXP_P4), p5 = FloatVector.broadcast(S, AttentionMath.EXP_P5);
        int jEnd = Floats.roundUp(valid, VL);
        for (int j = 0; j < jEnd; j += VL) {
            FloatVector x = FloatVector.fromArray(S, sc, at + j).sub(lv);
            x = x.blend(low, x.compare(VectorOperators.LT, low));
            FloatVector t = x.fma(log2e, round), n = t.sub(round);
            FloatVector r = n.fma(hi, x);
            r = n.fma(lo, r);
            FloatVector q = r.fma(p0, p1).fma(r, p2).fma(r, p3).fma(r, p4).fma(r, p5);
            FloatVector p = q.fma(r.mul(r), r).add(one).reinterpretAsInts()
                    .add(t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
            p.intoArray(sc, at + j);
            p.mul(FloatVector.fromArray(S, dp, at + j).sub(dv)).intoArray(dp, at + j);
        }
        java.util.Arrays.fill(sc, at + valid, at + kp, 0f);
        java.util.Arrays.fill(dp, at + valid, at + kp, 0f);
    }
}
