package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The vector form of {@link CpuTemporalAttentionGrad}, laid out as {@link TemporalLaneAttention}: a work item is
 * (video, block of VL tokens, head); q, k, v and dO of its F frames go transposed into [frame][channel][VL] arrays,
 * each query frame recomputes its F scores and probabilities lane-wise, and dQ, dK, dV of the item's rows and head
 * (which no other item writes) gather in [frame][channel][VL] arrays before they are stored.
 */
final class TemporalLaneAttentionGrad {
    private TemporalLaneAttentionGrad() {}

    static void run(int frames, int heads, float scale, Tensor q, Tensor k, Tensor v, Tensor dOut, Tensor dQ, Tensor dK,
                    Tensor dV) {
        int n = q.dim(0), l = q.dim(1), c = q.dim(2), hs = c / heads, f = frames, batch = n / frames;
        int blocks = (l + VL - 1) / VL;
        MemorySegment qs = q.segment(), ks = k.segment(), vs = v.segment(), os = dOut.segment(), dqs = dQ.segment();
        MemorySegment dks = dK == null ? null : dK.segment(), dvs = dV == null ? null : dV.segment();
        Parallel.forRange(batch * blocks * heads, 1, (lo, hi) -> {
            int size = f * hs * VL;
            float[] qt = Scratch.floats(0, size), kt = Scratch.floats(1, size), vt = Scratch.floats(2, size);
            float[] ot = Scratch.floats(3, size), dk = Scratch.floats(4, size), dv = Scratch.floats(5, size);
            float[] dq = Scratch.floats(6, hs * VL), sc = Scratch.floats(7, f * VL), dp = Scratch.floats(8, f * VL);
            float[] lanes = Scratch.floats(9, 2 * VL);
            for (int item = lo; item < hi; item++) {
                int b = item / (blocks * heads), t0 = item / heads % blocks * VL, col = item % heads * hs;
                int nt = Math.min(VL, l - t0);
                for (int g = 0; g < f; g++) {
                    long base = ((long) (b * f + g) * l + t0) * c + col;
                    for (int lane = 0; lane < VL; lane++) {  // lanes past nt repeat the last token, never stored
                        long src = base + (long) Math.min(lane, nt - 1) * c;
                        for (int i = 0, at = g * hs * VL + lane; i < hs; i++, at += VL) {
                            qt[at] = Floats.get(qs, src + i) * scale;
                            kt[at] = Floats.get(ks, src + i);
                            vt[at] = Floats.get(vs, src + i);
                            ot[at] = Floats.get(os, src + i);
                        }
                    }
                }
                java.util.Arrays.fill(dk, 0, size, 0f);
                java.util.Arrays.fill(dv, 0, size, 0f);
                for (int fi = 0; fi < f; fi++) {
                    int row = fi * hs * VL;
                    TemporalLaneAttention.products(qt, row, kt, f, hs, sc);  // scale·q·k
                    TemporalLaneAttention.products(ot, row, vt, f, hs, dp);  // dO·v
                    QueryLaneAttention.maxLanes(sc, f, lanes);
                    QueryLaneAttention.expLanes(sc, f, lanes);
                    scoreGrads(sc, dp, f, lanes);      // sc ← p, dp ← p·(dp − Σ p·dp)
                    gradients(sc, dp, f, hs, scale, qt, row, kt, ot, dq, dk, dv);
                    long base = ((long) (b * f + fi) * l + t0) * c + col;
                    for (int lane = 0; lane < nt; lane++) {
                        long dst = base + (long) lane * c;
                        for (int i = 0; i < hs; i++) Floats.set(dqs, dst + i, dq[i * VL + lane]);
                    }
                }
                for (int g = 0; g < f; g++) {
                    long base = ((long) (b * f + g) * l + t0) * c + col;
                    for (int lane = 0; lane < nt; lane++) {
                        long dst = base + (long) lane * c;
                        for (int i = 0, at = g * hs * VL + lane; i < hs; i++, at += VL) {
                            if (dks != null) Floats.set(dks, dst + i, dk[at]);
                            if (dvs != null) Floats.set(dvs, dst + i, dv[at]);
                        }
                    }
                }
            }
        });
    }

    /**
     * With sc = e^(s − max) and lanes[VL, 2·VL) = 1 / Σ: sc ← p = e · (1 / Σ), and dp ← p · (dp − Σ_g p·dp), the
     * gradient of the scores before their scale.
     */
    private static void scoreGrads(float[] sc, float[] dp, int f, float[] lanes) {
        FloatVector inv = FloatVector.fromArray(S, lanes, VL), dsum = FloatVector.zero(S);
        for (int g = 0; g < f; g++) {
            FloatVector p = FloatVector.fromArray(S, sc, g * VL).mul(inv);
            p.intoArray(sc, g * VL);
            dsum = p.fma(FloatVector.fromArray(S, dp, g * VL), dsum);
        }
        FloatVector d = Vec.ZERO.blend(dsum, Vec.ALL);
        for (int g = 0; g < f; g++) {
            FloatVector p = FloatVector.fromArray(S, sc, g * VL);
            p.mul(FloatVector.fromArray(S, dp, g * VL).sub(d)).intoArray(dp, g * VL);
        }
    }

    /**
     * For query frame row (channel i at row + i·VL): dq[i] = scale · Σ_g ds[g] · k[g][i]; dk[g][i] += ds[g] · (scale ·
     * q[i]); dv[g][i] += p[g] · dO[i], with ds = dp (the score gradient before the scale) and qt holding scale · q.
     */
    private static void gradients(float[] p, float[] ds, int f, int hs, float scale, float[] qt, int row, float[] kt,
                                  float[] ot, float[] dq, float[] dk, float[] dv) {
        FloatVector sv = FloatVector.broadcast(S, scale);
        for (int i = 0; i < hs; i++) {
            int at = row + i * VL;
            FloatVector qv = FloatVector.fromArray(S, qt, at), ov = FloatVector.fromArray(S, ot, at);
            FloatVector acc = FloatVector.zero(S);
            for (int g = 0, k = i * VL; g < f; g++, k += hs * VL) {
                FloatVector d = FloatVector.fromArray(S, ds, g * VL), pg = FloatVector.fromArray(S, p, g * VL);
                acc = d.fma(FloatVector.fromArray(S, kt, k), acc);
                d.fma(qv, FloatVector.fromArray(S, dk, k)).intoArray(dk, k);
                pg.fma(ov, FloatVector.fromArray(S, dv, k)).intoArray(dv, k);
            }
            sv.mul(Vec.ZERO.blend(acc, Vec.ALL)).intoArray(dq, i * VL);
        }
    }
}
