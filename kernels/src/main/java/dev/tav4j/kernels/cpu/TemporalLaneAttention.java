package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The vector form of {@link TemporalAttention}: token l of image b·F+f attends to token l of images b·F+0..F−1.
 * Each token's softmax is only F × F, so the vectors run over VL neighbouring tokens instead: a work item is (video,
 * block of VL tokens, head), its F frames of q, k and v go transposed into [frame][channel][VL] arrays, and every
 * score, exponential and output is lane-wise ({@link QueryLaneAttention}'s max and exponential), with no lane sums.
 */
final class TemporalLaneAttention {
    private TemporalLaneAttention() {}

    static void run(int frames, int heads, float scale, Tensor q, Tensor k, Tensor v, Tensor out) {
        int n = q.dim(0), l = q.dim(1), c = q.dim(2), hs = c / heads, f = frames, batch = n / frames;
        int blocks = (l + VL - 1) / VL;
        MemorySegment qs = q.segment(), ks = k.segment(), vs = v.segment(), os = out.segment();
        Parallel.forRange(batch * blocks * heads, 1, (lo, hi) -> {
            float[] qt = Scratch.floats(0, f * hs * VL), kt = Scratch.floats(1, f * hs * VL);
            float[] vt = Scratch.floats(2, f * hs * VL), ot = Scratch.floats(3, hs * VL);
            float[] sc = Scratch.floats(4, f * VL), lanes = Scratch.floats(5, 2 * VL);
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
                        }
                    }
                }
                for (int fi = 0; fi < f; fi++) {
                    products(qt, fi * hs * VL, kt, f, hs, sc);
                    QueryLaneAttention.maxLanes(sc, f, lanes);
                    QueryLaneAttention.expLanes(sc, f, lanes);
                    weighted(sc, f, vt, hs, lanes, ot);
                    long base = ((long) (b * f + fi) * l + t0) * c + col;
                    for (int lane = 0; lane < nt; lane++) {
                        long dst = base + (long) lane * c;
                        for (int i = 0; i < hs; i++) Floats.set(os, dst + i, ot[i * VL + lane]);
                    }
                }
            }
        });
    }

    /**
     * out[g·VL + lane] = Σ_i a[a0 + i·VL + lane] · t[(g·hs + i)·VL + lane] for g &lt; f: one frame's row of a against
     * every frame of t (the scores q·k; in the backward also dO·v); four frames per pass.
     */
    static void products(float[] a, int a0, float[] t, int f, int hs, float[] out) {
        int g = 0, stride = hs * VL;
        for (; g + 4 <= f; g += 4) {
            FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0, k = g * stride; i < stride; i += VL, k += VL) {
                FloatVector av = FloatVector.fromArray(S, a, a0 + i);
                s0 = av.fma(FloatVector.fromArray(S, t, k), s0);
                s1 = av.fma(FloatVector.fromArray(S, t, k + stride), s1);
                s2 = av.fma(FloatVector.fromArray(S, t, k + 2 * stride), s2);
                s3 = av.fma(FloatVector.fromArray(S, t, k + 3 * stride), s3);
            }
            Vec.ZERO.blend(s0, Vec.ALL).intoArray(out, g * VL);
            Vec.ZERO.blend(s1, Vec.ALL).intoArray(out, (g + 1) * VL);
            Vec.ZERO.blend(s2, Vec.ALL).intoArray(out, (g + 2) * VL);
            Vec.ZERO.blend(s3, Vec.ALL).intoArray(out, (g + 3) * VL);
        }
        for (; g < f; g++) {
            FloatVector s = FloatVector.zero(S);
            for (int i = 0, k = g * stride; i < stride; i += VL, k += VL)
                s = FloatVector.fromArray(S, a, a0 + i).fma(FloatVector.fromArray(S, t, k), s);
            Vec.ZERO.blend(s, Vec.ALL).intoArray(out, g * VL);
        }
    }

    /** ot[i·VL + lane] = lanes[VL + lane] · Σ_g sc[g·VL + lane] · vt[(g·hs + i)·VL + lane] for i &lt; hs; four per pass. */
    private static void weighted(float[] sc, int f, float[] vt, int hs, float[] lanes, float[] ot) {
        FloatVector inv = FloatVector.fromArray(S, lanes, VL);
        int i = 0, stride = hs * VL;
        for (; i + 4 <= hs; i += 4) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int g = 0, k = i * VL; g < f; g++, k += stride) {
                FloatVector p = FloatVector.fromArray(S, sc, g * VL);
                a0 = p.fma(FloatVector.fromArray(S, vt, k), a0);
                a1 = p.fma(FloatVector.fromArray(S, vt, k + VL), a1);
                a2 = p.fma(FloatVector.fromArray(S, vt, k + 2 * VL), a2);
                a3 = p.fma(FloatVector.fromArray(S, vt, k + 3 * VL), a3);
            }
            inv.mul(Vec.ZERO.blend(a0, Vec.ALL)).intoArray(ot, i * VL);
            inv.mul(Vec.ZERO.blend(a1, Vec.ALL)).intoArray(ot, (i + 1) * VL);
            inv.mul(Vec.ZERO.blend(a2, Vec.ALL)).intoArray(ot, (i + 2) * VL);
            inv.mul(Vec.ZERO.blend(a3, Vec.ALL)).intoArray(ot, (i + 3) * VL);
        }
        for (; i < hs; i++) {
            FloatVector a = FloatVector.zero(S);
            for (int g = 0, k = i * VL; g < f; g++, k += stride) a = FloatVector.fromArray(S, sc, g * VL).fma(FloatVector.fromArray(S, vt, k), a);
            inv.mul(Vec.ZERO.blend(a, Vec.ALL)).intoArray(ot, i * VL);
        }
    }
}
