package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Floats.NATIVE;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The vector loops of GroupNorm and LayerNorm, forward and backward; their ops (checks, statistics, parallel
 * splits) are in {@link CpuGroupNorm}, {@link CpuLayerNorm}, {@link CpuNormGrad} and {@link CpuGroupNormGradPasses},
 * their scalar twins in {@link ScalarNorm}.
 */
final class VecNorm {
    private VecNorm() {}

    /**
     * acc[ch] = Σ_{r0 ≤ r &lt; r1} x[base + r·C + ch] in float, pixels in order: whole vectors of channels, then the
     * channels past the last whole vector one by one (the same float additions, lane by lane).
     */
    static void sumRun(MemorySegment xs, long base, long r0, long r1, int c, float[] acc) {
        int full = c / VL * VL;
        for (int c0 = 0; c0 < full; c0 += VL) {
            FloatVector s = FloatVector.zero(S);
            for (long r = r0; r < r1; r++) s = FloatVector.fromMemorySegment(S, xs, (base + r * c + c0) << 2, NATIVE).add(s);
            Vec.ZERO.blend(s, Vec.ALL).intoArray(acc, c0);
        }
        for (int ch = full; ch < c; ch++) {
            float s = 0f;
            for (long r = r0; r < r1; r++) s += Floats.get(xs, base + r * c + ch);
            acc[ch] = s;
        }
    }

    /** acc[ch] = Σ (x − mu[ch])² the same way ({@link #sumRun}), each square added by one fused multiply-add. */
    static void squaresRun(MemorySegment xs, long base, long r0, long r1, int c, float[] mu, float[] acc) {
        int full = c / VL * VL;
        for (int c0 = 0; c0 < full; c0 += VL) {
            FloatVector m = FloatVector.fromArray(S, mu, c0);
            FloatVector s = FloatVector.zero(S);
            for (long r = r0; r < r1; r++) {
                FloatVector d = FloatVector.fromMemorySegment(S, xs, (base + r * c + c0) << 2, NATIVE).sub(m);
                s = d.fma(d, s);
            }
            Vec.ZERO.blend(s, Vec.ALL).intoArray(acc, c0);
        }
        for (int ch = full; ch < c; ch++) {
            float s = 0f, m = mu[ch];
            for (long r = r0; r < r1; r++) {
                float d = Floats.get(xs, base + r * c + ch) - m;
                s = Math.fma(d, d, s);
            }
            acc[ch] = s;
        }
    }

    /**
     * Rows [r0, r1): y = x·scale + shift, one fused multiply-add per element; whole vectors in place, the channels
     * past the last whole vector of each row through t.
     */
    static void applyPlain(MemorySegment xs, MemorySegment os, long r0, long r1, int c, float[] sc, float[] sh,
                                   float[] t) {
        int full = c / VL * VL, rem = c - full;
        for (long r = r0; r < r1; r++) {
            long i = r * c;
            for (int c0 = 0; c0 < full; c0 += VL) {
                FloatVector y = FloatVector.fromMemorySegment(S, xs, (i + c0) << 2, NATIVE)
                        .fma(FloatVector.fromArray(S, sc, c0), FloatVector.fromArray(S, sh, c0));
                y.intoMemorySegment(os, (i + c0) << 2, NATIVE);
            }
            if (rem > 0) {
                Vec.tailIn(xs, i + full, rem, t, 0);
                FloatVector.fromArray(S, t, 0).fma(FloatVector.fromArray(S, sc, full), FloatVector.fromArray(S, sh, full))
                        .intoArray(t, 0);
                Vec.tailOut(t, 0, rem, os, i + full);
            }
        }
    }

    private static java.lang.invoke.MethodHandle applySilu = Vec.alone(java.lang.invoke.MethodHandles.lookup(),
            "applySiluRows", MemorySegment.class, MemorySegment.class, long.class, long.class, int.class, float[].class,
            float[].class, float[].class);

    static void applySilu(MemorySegment xs, MemorySegment os, long r0, long r1, int c, float[] sc, float[] sh,
                                  float[] t) {
        try {
            applySilu.invokeExact(xs, os, r0, r1, c, sc, sh, t);
        } catch (Throwable e) {
            throw Vec.rethrow(e);
        }
    }

    /** {@link #applyPlain} followed by SiLU, y / (1 + e^−y). */
    private static void applySiluRows(MemorySegment xs, MemorySegment os, long r0, long r1, int c, float[] sc,
                                      float[] sh, float[] t) {
        int full = c / VL * VL, rem = c - full;
        for (long r = r0; r < r1; r++) {
            long i = r * c;
            for (int c0 = 0; c0 < full; c0 += VL) {
                FloatVector y = FloatVector.fromMemorySegment(S, xs, (i + c0) << 2, NATIVE)
                        .fma(FloatVector.fromArray(S, sc, c0), FloatVector.fromArray(S, sh, c0));
                y = y.div(y.neg().lanewise(VectorOperators.EXP).add(1f));
                y.intoMemorySegment(os, (i + c0) << 2, NATIVE);
            }
            if (rem > 0) {
                Vec.tailIn(xs, i + full, rem, t, 0);
                FloatVector y = FloatVector.fromArray(S, t, 0)
                        .fma(FloatVector.fromArray(S, sc, full), FloatVector.fromArray(S, sh, full));
                y.div(y.neg().lanewise(VectorOperators.EXP).add(1f)).intoArray(t, 0);
                Vec.tailOut(t, 0, rem, os, i + full);
            }
        }
    }
    /**
     * Rows [lo, hi), each copied into x (zero-padded to whole vectors, as gamma g and beta b are) so that every pass
     * runs whole vectors from arrays, one loop body each; y receives the row before it is copied out; the one masked operation (the centring in the variance pass, which must leave
     * the padding at zero) takes a mask that is all-true except on the last vector.
     */
    static void layerNormRows(MemorySegment xs, MemorySegment os, float[] g, float[] b, float[] x, float[] y,
                             float[] lanes, int d, float eps, int lo, int hi) {
        int dp = Floats.roundUp(d, VL);
        for (int r = lo; r < hi; r++) {
            long base = (long) r * d;
            MemorySegment.copy(xs, Floats.F, base << 2, x, 0, d);
            FloatVector s = FloatVector.zero(S);
            for (int c0 = 0; c0 < dp; c0 += VL) s = FloatVector.fromArray(S, x, c0).add(s);
            Vec.ZERO.blend(s, Vec.ALL).intoArray(lanes, 0);
            float mean = Vec.sumLanes(lanes, 0) / d;
            FloatVector mu = FloatVector.broadcast(S, mean);
            FloatVector q = FloatVector.zero(S);
            for (int c0 = 0; c0 < dp; c0 += VL) {
                FloatVector dv = FloatVector.fromArray(S, x, c0).sub(mu, S.indexInRange(c0, d));
                q = dv.fma(dv, q);
            }
            Vec.ZERO.blend(q, Vec.ALL).intoArray(lanes, 0);
            float rstd = (float) (1.0 / Math.sqrt(Vec.sumLanes(lanes, 0) / d + (double) eps));
            FloatVector rs = FloatVector.broadcast(S, rstd);
            for (int c0 = 0; c0 < dp; c0 += VL)
                FloatVector.fromArray(S, x, c0).sub(mu).mul(rs).fma(FloatVector.fromArray(S, g, c0), FloatVector.fromArray(S, b, c0))
                        .intoArray(y, c0);
            MemorySegment.copy(y, 0, os, Floats.F, base << 2, d);
        }
    }
    /**
     * LayerNorm backward over rows [lo, hi). Each row (x and dy) is copied into zero-padded per-thread arrays, so
     * that every pass runs whole vectors from arrays with one loop body; the two masked operations of the sums
     * (which must leave the padding out) take a mask that is all-true except on the last vector. The statistics
     * and the gradient are two vector methods, the second entered through a handle ({@link Vec#alone}): together
     * they would pass C2's inlining budget.
     */
    static void layerNormBackwardRows(MemorySegment xs, MemorySegment ys, MemorySegment os, MemorySegment gs, int d,
                                      float eps, int lo, int hi) {
        int dp = Floats.roundUp(d, VL);
        float[] ga = Scratch.floats(0, dp), x = Scratch.floats(1, dp), y = Scratch.floats(2, dp);
        float[] o = Scratch.floats(3, dp), lanes = Scratch.floats(4, VL);
        Vec.padded(gs, d, ga);
        java.util.Arrays.fill(x, d, dp, 0f);
        java.util.Arrays.fill(y, d, dp, 0f);
        for (int r = lo; r < hi; r++) {
            long base = (long) r * d;
            MemorySegment.copy(xs, Floats.F, base << 2, x, 0, d);
            MemorySegment.copy(ys, Floats.F, base << 2, y, 0, d);
            rowStatistics(x, d, eps, lanes);
            try {
                rowGradient.invokeExact(x, y, ga, d, lanes[0], lanes[1], lanes, o);
            } catch (Throwable t) {
                throw Vec.rethrow(t);
            }
            MemorySegment.copy(o, 0, os, Floats.F, base << 2, d);
        }
    }

    private static java.lang.invoke.MethodHandle rowGradient = Vec.alone(java.lang.invoke.MethodHandles.lookup(),
            "rowGradient", float[].class, float[].class, float[].class, int.class, float.class, float.class,
            float[].class, float[].class);

    /** The row's mean and rstd into lanes[0], lanes[1] (x zero-padded to whole vectors). */
    private static void rowStatistics(float[] x, int d, float eps, float[] lanes) {
        int dp = Floats.roundUp(d, VL);
        FloatVector s = FloatVector.zero(S);
        for (int c0 = 0; c0 < dp; c0 += VL) s = FloatVector.fromArray(S, x, c0).add(s);
        Vec.ZERO.blend(s, Vec.ALL).intoArray(lanes, 0);
        float mean = (float) (sumLanes(lanes) / d);
        FloatVector mu = FloatVector.broadcast(S, mean);
        FloatVector q = FloatVector.zero(S);
        for (int c0 = 0; c0 < dp; c0 += VL) {
            FloatVector dv = FloatVector.fromArray(S, x, c0).sub(mu, S.indexInRange(c0, d));
            q = dv.fma(dv, q);
        }
        Vec.ZERO.blend(q, Vec.ALL).intoArray(lanes, 0);
        float rstd = (float) (1.0 / Math.sqrt(sumLanes(lanes) / d + (double) eps));
        lanes[0] = mean;
        lanes[1] = rstd;
    }

    /** o = rstd·(g − mean(g) − x̂·mean(g·x̂)) for one row, g = γ·dy, x̂ = (x − mean)·rstd; lanes as room for sums. */
    private static void rowGradient(float[] x, float[] y, float[] ga, int d, float mean, float rstd, float[] lanes,
                                    float[] o) {
        int dp = Floats.roundUp(d, VL);
        FloatVector mu = FloatVector.broadcast(S, mean), rs = FloatVector.broadcast(S, rstd);
        FloatVector s1 = FloatVector.zero(S), s2 = s1;
        for (int c0 = 0; c0 < dp; c0 += VL) {
            FloatVector xh = FloatVector.fromArray(S, x, c0).sub(mu).mul(rs);
            FloatVector g = FloatVector.fromArray(S, y, c0).mul(FloatVector.fromArray(S, ga, c0));
            s1 = g.add(s1).blend(s1, S.indexInRange(c0, d).not()); // s1 + g where in range
            s2 = g.fma(xh, s2);
        }
        Vec.ZERO.blend(s1, Vec.ALL).intoArray(lanes, 0);
        FloatVector m1 = FloatVector.broadcast(S, (float) (sumLanes(lanes) / d));
        Vec.ZERO.blend(s2, Vec.ALL).intoArray(lanes, 0);
        FloatVector m2 = FloatVector.broadcast(S, (float) (sumLanes(lanes) / d));
        for (int c0 = 0; c0 < dp; c0 += VL) {
            FloatVector xh = FloatVector.fromArray(S, x, c0).sub(mu).mul(rs);
            FloatVector g = FloatVector.fromArray(S, y, c0).mul(FloatVector.fromArray(S, ga, c0));
            g.sub(m1).sub(xh.mul(m2)).mul(rs).intoArray(o, c0);
        }
    }

    /**
     * Rows [b0, b1): a1 += dy and a2 += dy·x̂ per column, in float, rows in order, x̂ recomputed per row as {@link
     * #layerNorm} does; each row copied into zero-padded per-thread arrays first (see {@link #layerNormRows}).
     */
    static void affineRun(MemorySegment xs, MemorySegment ys, int d, float eps, int b0, int b1, float[] a1,
                                  float[] a2) {
        int dp = Floats.roundUp(d, VL);
        float[] x = Scratch.floats(2, dp), y = Scratch.floats(3, dp), lanes = Scratch.floats(4, VL);
        java.util.Arrays.fill(x, d, dp, 0f);
        java.util.Arrays.fill(y, d, dp, 0f);
        for (int r = b0; r < b1; r++) {
            long base = (long) r * d;
            MemorySegment.copy(xs, Floats.F, base << 2, x, 0, d);
            MemorySegment.copy(ys, Floats.F, base << 2, y, 0, d);
            FloatVector s = FloatVector.zero(S);
            for (int c0 = 0; c0 < dp; c0 += VL) s = FloatVector.fromArray(S, x, c0).add(s);
            Vec.ZERO.blend(s, Vec.ALL).intoArray(lanes, 0);
            FloatVector mu = FloatVector.broadcast(S, (float) (sumLanes(lanes) / d));
            FloatVector q = FloatVector.zero(S);
            for (int c0 = 0; c0 < dp; c0 += VL) {
                FloatVector dv = FloatVector.fromArray(S, x, c0).sub(mu, S.indexInRange(c0, d));
                q = dv.fma(dv, q);
            }
            Vec.ZERO.blend(q, Vec.ALL).intoArray(lanes, 0);
            FloatVector rs = FloatVector.broadcast(S, (float) (1.0 / Math.sqrt(sumLanes(lanes) / d + (double) eps)));
            for (int c0 = 0; c0 < dp; c0 += VL) {
                FloatVector dy = FloatVector.fromArray(S, y, c0);
                FloatVector.fromArray(S, a1, c0).add(dy).intoArray(a1, c0);
                FloatVector xh = FloatVector.fromArray(S, x, c0).sub(mu).mul(rs);
                dy.fma(xh, FloatVector.fromArray(S, a2, c0)).intoArray(a2, c0);
            }
        }
    }

    /** Rows [b0, b1): a1 += dy per column (dBeta alone). */
    static void betaRun(MemorySegment ys, int d, int b0, int b1, float[] a1) {
        int dp = Floats.roundUp(d, VL);
        float[] y = Scratch.floats(3, dp);
        java.util.Arrays.fill(y, d, dp, 0f);
        for (int r = b0; r < b1; r++) {
            MemorySegment.copy(ys, Floats.F, ((long) r * d) << 2, y, 0, d);
            for (int c0 = 0; c0 < dp; c0 += VL)
                FloatVector.fromArray(S, a1, c0).add(FloatVector.fromArray(S, y, c0)).intoArray(a1, c0);
        }
    }

    /** Sum of VL lanes in double, in lane order. */
    static double sumLanes(float[] lanes) {
        double s = 0;
        for (int i = 0; i < VL; i++) s += lanes[i];
        return s;
    }
    /** The two SiLU kernels, about 10,000 IR nodes each, always compile alone ({@link Vec#alone}). */
    private static java.lang.invoke.MethodHandle gradSumsSilu = Vec.alone(java.lang.invoke.MethodHandles.lookup(),
            "gradSumsSiluLoop", float[].class, float[].class, int.class, int.class, float[].class, float[].class,
            float[].class, float[].class, float[].class, float[].class, float[].class);
    private static java.lang.invoke.MethodHandle applyRunSilu = Vec.alone(java.lang.invoke.MethodHandles.lookup(),
            "applyRunSiluLoop", float[].class, float[].class, int.class, int.class, float[].class, float[].class,
            float[].class);

    /**
     * Over the rows of a run (xb, yb: rows × cp), per channel: acc = Σ g and acc2 = Σ g·x̂ with x̂ = (x − μ)·rstd and
     * g = dy·gm, in float, pixels in order (the padding lanes compute garbage nobody reads).
     */
    static void gradSums(float[] xb, float[] yb, int rows, int cp, float[] mu, float[] rs, float[] gm,
                                 float[] acc, float[] acc2) {
        for (int c0 = 0; c0 < cp; c0 += VL) {
            FloatVector m = FloatVector.fromArray(S, mu, c0), r = FloatVector.fromArray(S, rs, c0);
            FloatVector f = FloatVector.fromArray(S, gm, c0);
            FloatVector s = FloatVector.zero(S), s2 = s;
            for (int p = 0, i = c0; p < rows; p++, i += cp) {
                FloatVector xh = FloatVector.fromArray(S, xb, i).sub(m).mul(r);
                FloatVector g = FloatVector.fromArray(S, yb, i).mul(f);
                s = g.add(s);
                s2 = g.fma(xh, s2);
            }
            Vec.ZERO.blend(s, Vec.ALL).intoArray(acc, c0);
            Vec.ZERO.blend(s2, Vec.ALL).intoArray(acc2, c0);
        }
    }

    /**
     * {@link #gradSums} with dy taken through the SiLU after the affine, z = γ·x̂ + β:
     * dz = dy·σ(z)·(1 + z·(1 − σ(z))), g = dz·gm.
     */
    static void gradSumsSilu(float[] xb, float[] yb, int rows, int cp, float[] mu, float[] rs, float[] ga,
                                     float[] be, float[] gm, float[] acc, float[] acc2) {
        try {
            gradSumsSilu.invokeExact(xb, yb, rows, cp, mu, rs, ga, be, gm, acc, acc2);
        } catch (Throwable t) {
            throw Vec.rethrow(t);
        }
    }

    private static void gradSumsSiluLoop(float[] xb, float[] yb, int rows, int cp, float[] mu, float[] rs, float[] ga,
                                         float[] be, float[] gm, float[] acc, float[] acc2) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int c0 = 0; c0 < cp; c0 += VL) {
            FloatVector m = FloatVector.fromArray(S, mu, c0), r = FloatVector.fromArray(S, rs, c0);
            FloatVector gav = FloatVector.fromArray(S, ga, c0), bev = FloatVector.fromArray(S, be, c0);
            FloatVector f = FloatVector.fromArray(S, gm, c0);
            FloatVector s = FloatVector.zero(S), s2 = s;
            for (int p = 0, i = c0; p < rows; p++, i += cp) {
                FloatVector xh = FloatVector.fromArray(S, xb, i).sub(m).mul(r);
                FloatVector a = xh.fma(gav, bev);
                FloatVector sig = one.div(a.neg().lanewise(VectorOperators.EXP).add(1f));
                FloatVector g = FloatVector.fromArray(S, yb, i).mul(sig.mul(a.mul(sig.neg().add(1f)).add(1f))).mul(f);
                s = g.add(s);
                s2 = g.fma(xh, s2);
            }
            Vec.ZERO.blend(s, Vec.ALL).intoArray(acc, c0);
            Vec.ZERO.blend(s2, Vec.ALL).intoArray(acc2, c0);
        }
    }

    /** xb ← (g − m1 − x̂·m2)·rstd over rows × cp, g = dy·γ, the means in ms (see {@link Means#video}). */
    static void applyRun(float[] xb, float[] yb, int rows, int cp, float[] ms, float[] ga) {
        for (int c0 = 0; c0 < cp; c0 += VL) {
            FloatVector mu = FloatVector.fromArray(S, ms, c0), rs = FloatVector.fromArray(S, ms, cp + c0);
            FloatVector a1 = FloatVector.fromArray(S, ms, 2 * cp + c0), a2 = FloatVector.fromArray(S, ms, 3 * cp + c0);
            FloatVector gav = FloatVector.fromArray(S, ga, c0);
            for (int p = 0, i = c0; p < rows; p++, i += cp) {
                FloatVector xh = FloatVector.fromArray(S, xb, i).sub(mu).mul(rs);
                FloatVector g = FloatVector.fromArray(S, yb, i).mul(gav);
                g.sub(a1).sub(xh.mul(a2)).mul(rs).intoArray(xb, i);
            }
        }
    }

    /** {@link #applyRun} with dy taken through the SiLU after the affine: g = dz·γ (see {@link #gradSumsSilu}). */
    static void applyRunSilu(float[] xb, float[] yb, int rows, int cp, float[] ms, float[] ga, float[] be) {
        try {
            applyRunSilu.invokeExact(xb, yb, rows, cp, ms, ga, be);
        } catch (Throwable t) {
            throw Vec.rethrow(t);
        }
    }

    private static void applyRunSiluLoop(float[] xb, float[] yb, int rows, int cp, float[] ms, float[] ga, float[] be) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int c0 = 0; c0 < cp; c0 += VL) {
            FloatVector mu = FloatVector.fromArray(S, ms, c0), rs = FloatVector.fromArray(S, ms, cp + c0);
            FloatVector a1 = FloatVector.fromArray(S, ms, 2 * cp + c0), a2 = FloatVector.fromArray(S, ms, 3 * cp + c0);
            FloatVector gav = FloatVector.fromArray(S, ga, c0), bev = FloatVector.fromArray(S, be, c0);
            for (int p = 0, i = c0; p < rows; p++, i += cp) {
                FloatVector xh = FloatVector.fromArray(S, xb, i).sub(mu).mul(rs);
                FloatVector a = xh.fma(gav, bev);
                FloatVector sig = one.div(a.neg().lanewise(VectorOperators.EXP).add(1f));
                FloatVector g = FloatVector.fromArray(S, yb, i).mul(sig.mul(a.mul(sig.neg().add(1f)).add(1f))).mul(gav);
                g.sub(a1).sub(xh.mul(a2)).mul(rs).intoArray(xb, i);
            }
        }
    }
}
