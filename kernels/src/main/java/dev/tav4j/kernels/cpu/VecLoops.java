package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Floats.NATIVE;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Small vector loops of the point-wise ops, the bias gradient and the upsampling backward; their ops (checks and
 * parallel splits) are in {@link CpuElementwise}, {@link CpuMatmulGrad} and {@link CpuLayoutGrad}, their scalar
 * twins in {@link ScalarLoops}.
 */
final class VecLoops {
    private VecLoops() {}

    /** out = a·x + b·y over [from, to): whole vectors in place, the last partial one through a per-thread array. */
    static void axpby(float a, MemorySegment xs, float b, MemorySegment ys, MemorySegment os, long from, long to) {
        long full = from + (to - from) / VL * VL;
        for (long i = from; i < full; i += VL) {
            FloatVector x = FloatVector.fromMemorySegment(S, xs, i << 2, NATIVE);
            FloatVector y = FloatVector.fromMemorySegment(S, ys, i << 2, NATIVE);
            x.mul(a).add(y.mul(b)).intoMemorySegment(os, i << 2, NATIVE);
        }
        int rem = (int) (to - full);
        if (rem == 0) return;
        float[] t = Scratch.floats(0, 2 * VL);
        Vec.tailIn(xs, full, rem, t, 0);
        Vec.tailIn(ys, full, rem, t, VL);
        FloatVector.fromArray(S, t, 0).mul(a).add(FloatVector.fromArray(S, t, VL).mul(b)).intoArray(t, 0);
        Vec.tailOut(t, 0, rem, os, full);
    }


    /** out = x·y over [from, to): whole vectors in place, the last partial one through a per-thread array. */
    static void mul(MemorySegment xs, MemorySegment ys, MemorySegment os, long from, long to) {
        long full = from + (to - from) / VL * VL;
        for (long i = from; i < full; i += VL) {
            FloatVector x = FloatVector.fromMemorySegment(S, xs, i << 2, NATIVE);
            FloatVector y = FloatVector.fromMemorySegment(S, ys, i << 2, NATIVE);
            x.mul(y).intoMemorySegment(os, i << 2, NATIVE);
        }
        int rem = (int) (to - full);
        if (rem == 0) return;
        float[] t = Scratch.floats(0, 2 * VL);
        Vec.tailIn(xs, full, rem, t, 0);
        Vec.tailIn(ys, full, rem, t, VL);
        FloatVector.fromArray(S, t, 0).mul(FloatVector.fromArray(S, t, VL)).intoArray(t, 0);
        Vec.tailOut(t, 0, rem, os, full);
    }


    /** out[r] = x[r] + rows[r / perRow] for rows [r0, r1) of C channels; each row's last partial vector through t. */
    static void addBiasRows(MemorySegment xs, MemorySegment rs, MemorySegment os, long r0, long r1, int c,
                                    long perRow) {
        int full = c / VL * VL, rem = c - full;
        float[] t = Scratch.floats(0, 2 * VL);
        for (long r = r0; r < r1; r++) {
            long bias = r / perRow * c, i = r * c;
            for (int c0 = 0; c0 < full; c0 += VL) {
                FloatVector x = FloatVector.fromMemorySegment(S, xs, (i + c0) << 2, NATIVE);
                x.add(FloatVector.fromMemorySegment(S, rs, (bias + c0) << 2, NATIVE)).intoMemorySegment(os, (i + c0) << 2, NATIVE);
            }
            if (rem > 0) {
                Vec.tailIn(xs, i + full, rem, t, 0);
                Vec.tailIn(rs, bias + full, rem, t, VL);
                FloatVector.fromArray(S, t, 0).add(FloatVector.fromArray(S, t, VL)).intoArray(t, 0);
                Vec.tailOut(t, 0, rem, os, i + full);
            }
        }
    }


    /**
     * dst[0, C) = Σ dY[image row base + oy, ox, :] over oy ∈ [oy0, oy1), ox ∈ [ox0, ox1) in that order, in float: whole
     * vectors of channels, then the channels past the last whole vector one by one (the same additions, lane by lane).
     */
    static void sumPixels(MemorySegment ys, long base, int oy0, int oy1, int wo, int ox0, int ox1, int c,
                                  MemorySegment xs, long dst) {
        int full = c / VL * VL;
        for (int c0 = 0; c0 < full; c0 += VL) {
            FloatVector s = FloatVector.zero(Vec.S);
            for (int oy = oy0; oy < oy1; oy++)
                for (int ox = ox0; ox < ox1; ox++)
                    s = FloatVector.fromMemorySegment(Vec.S, ys, (((base + oy) * wo + ox) * c + c0) << 2, Floats.NATIVE).add(s);
            Vec.ZERO.blend(s, Vec.ALL).intoMemorySegment(xs, (dst + c0) << 2, Floats.NATIVE);
        }
        for (int ch = full; ch < c; ch++) {
            float s = 0f;
            for (int oy = oy0; oy < oy1; oy++)
                for (int ox = ox0; ox < ox1; ox++) s += Floats.get(ys, ((base + oy) * wo + ox) * c + ch);
            Floats.set(xs, dst + ch, s);
        }
    }


    /**
     * part[at + j] = Σ_{r0 ≤ r &lt; r1} dY[r, j] in float, rows in order: whole vectors of columns, then the columns
     * past the last whole vector one by one (the same float additions, lane by lane).
     */
    static void columnSums(MemorySegment dy, int r0, int r1, int n, float[] part, int at) {
        int full = n / VL * VL;
        for (int c0 = 0; c0 < full; c0 += VL) {
            FloatVector s = FloatVector.zero(S);
            for (int r = r0; r < r1; r++) s = FloatVector.fromMemorySegment(S, dy, ((long) r * n + c0) << 2, NATIVE).add(s);
            Vec.ZERO.blend(s, Vec.ALL).intoArray(part, at + c0);
        }
        for (int j = full; j < n; j++) {
            float s = 0f;
            for (int r = r0; r < r1; r++) s += Floats.get(dy, (long) r * n + j);
            part[at + j] = s;
        }
    }
}
