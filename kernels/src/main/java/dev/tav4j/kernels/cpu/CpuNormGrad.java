package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.NATIVE;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Backward of GroupNorm (statistics pooled over frames, optional SiLU after the affine) and LayerNorm, affine
 * frozen: with g = γ·dy (dy through SiLU first: a = γ·x̂ + β, da = dy·σ(a)(1 + a(1 − σ(a)))),
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), the means over the normalised set. Statistics and both means are
 * recomputed from x, summed in float over short runs and in double across runs. The affine gradients (the
 * *Affine methods) sum dz·x̂ and dz per channel the same way, dz = dy (through the SiLU for a fused GroupNorm).
 */
final class CpuNormGrad {
    private CpuNormGrad() {}

    static void groupNorm(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu,
                          Tensor dY, Tensor dX) {
        String op = "groupNormBackward";
        Check.host(op, "x", x);
        Check.that(x.rank() >= 2, op + ": x must be [N, ..., C], got " + x);
        Check.sameShape(op, "x", x, "dY", dY);
        Check.sameShape(op, "x", x, "dX", dX);
        Check.host(op, "dY", dY);
        Check.host(op, "dX", dX);
        int n = x.dim(0), c = x.dim(-1);
        Check.that(groups > 0 && c % groups == 0, op + ": groups " + groups + " must divide the " + c + " channels");
        Check.that(framesPooled > 0 && n % framesPooled == 0,
                op + ": framesPooled " + framesPooled + " must divide N = " + n);
        Check.shape(op, "gamma", gamma, c);
        Check.shape(op, "beta", beta, c);
        if (x.size() == 0) return;
        int videos = n / framesPooled;
        long pixels = x.size() / c / videos;
        CpuGroupNormGradPasses st = new CpuGroupNormGradPasses(x.segment(), videos, pixels, c);
        double count = (double) pixels * (c / groups);
        float[][] stats = statistics(st, videos, c, groups, count, eps);
        float[] mean = stats[0], rstd = stats[1];
        float[] gam = gamma.toArray(), bet = silu ? beta.toArray() : null;
        double[][] sums = st.gradSums(mean, rstd, gam, bet, dY.segment());
        float[] m1 = toFloat(perChannel(sums[0], videos, c, groups, count));
        float[] m2 = toFloat(perChannel(sums[1], videos, c, groups, count));
        st.apply(mean, rstd, gam, bet, m1, m2, dY.segment(), dX.segment());
    }

    /** {mean, rstd} per (video, channel), each repeated over its group's channels. */
    private static float[][] statistics(CpuGroupNormGradPasses st, int videos, int c, int groups, double count,
                                        float eps) {
        float[] mean = toFloat(perChannel(st.sum(), videos, c, groups, count));
        double[] var = perChannel(st.centredSquares(mean), videos, c, groups, count);
        float[] rstd = new float[videos * c];
        for (int i = 0; i < rstd.length; i++) rstd[i] = (float) (1.0 / Math.sqrt(var[i] + eps));
        return new float[][] {mean, rstd};
    }

    /**
     * dGamma[c] += Σ dz·x̂ and dBeta[c] += Σ dz over every image and pixel (dz = dy, through the SiLU when fused):
     * the per-(video, channel) sums of {@link CpuGroupNormGradPasses#affineSums} (chunks in order, in double), then
     * the videos in order, in double, added to the float accumulators once.
     */
    static void groupNormAffine(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps,
                                boolean silu, Tensor dY, Tensor dGamma, Tensor dBeta) {
        String op = "groupNormBackwardAffine";
        Check.host(op, "x", x);
        Check.that(x.rank() >= 2, op + ": x must be [N, ..., C], got " + x);
        Check.host(op, "dY", dY);
        Check.sameShape(op, "x", x, "dY", dY);
        int n = x.dim(0), c = x.dim(-1);
        Check.that(groups > 0 && c % groups == 0, op + ": groups " + groups + " must divide the " + c + " channels");
        Check.that(framesPooled > 0 && n % framesPooled == 0,
                op + ": framesPooled " + framesPooled + " must divide N = " + n);
        Check.shape(op, "gamma", gamma, c);
        Check.shape(op, "beta", beta, c);
        if (dGamma != null) Check.shape(op, "dGamma", dGamma, c);
        if (dBeta != null) Check.shape(op, "dBeta", dBeta, c);
        Check.that(dGamma == null || dBeta == null || !Check.sameBytes(dGamma, dBeta), op + ": dGamma must not alias dBeta");
        if (x.size() == 0 || (dGamma == null && dBeta == null)) return;
        int videos = n / framesPooled;
        long pixels = x.size() / c / videos;
        CpuGroupNormGradPasses st = new CpuGroupNormGradPasses(x.segment(), videos, pixels, c);
        float[][] stats = statistics(st, videos, c, groups, (double) pixels * (c / groups), eps);
        double[][] sums = st.affineSums(stats[0], stats[1], gamma.toArray(), silu ? beta.toArray() : null, dY.segment());
        addOverVideos(sums[1], videos, c, dGamma);
        addOverVideos(sums[0], videos, c, dBeta);
    }

    /** acc[ch] += Σ_v sums[v·c + ch] (in double, videos in order); nothing when acc is null. */
    private static void addOverVideos(double[] sums, int videos, int c, Tensor acc) {
        if (acc == null) return;
        MemorySegment a = acc.segment();
        for (int ch = 0; ch < c; ch++) {
            double s = 0;
            for (int v = 0; v < videos; v++) s += sums[v * c + ch];
            Vec.set(a, ch, (float) (Vec.get(a, ch) + s));
        }
    }

    /** Sums per (video, channel) → the group's sum / count repeated over the group's channels. */
    private static double[] perChannel(double[] sums, int videos, int c, int groups, double count) {
        int cg = c / groups;
        double[] r = new double[videos * c];
        for (int v = 0; v < videos; v++)
            for (int g = 0; g < groups; g++) {
                double s = 0;
                for (int ch = g * cg; ch < (g + 1) * cg; ch++) s += sums[v * c + ch];
                for (int ch = g * cg; ch < (g + 1) * cg; ch++) r[v * c + ch] = s / count;
            }
        return r;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static void layerNorm(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dX) {
        String op = "layerNormBackward";
        Check.host(op, "x", x);
        Check.host(op, "dY", dY);
        Check.host(op, "dX", dX);
        Check.that(x.rank() >= 1, op + ": x must have a last dimension");
        Check.sameShape(op, "x", x, "dY", dY);
        Check.sameShape(op, "x", x, "dX", dX);
        int d = x.dim(-1);
        Check.shape(op, "gamma", gamma, d);
        if (x.size() == 0) return;
        int rows = CpuGradSupport.rows(x.size(), d, op);
        MemorySegment xs = x.segment(), ys = dY.segment(), os = dX.segment(), gs = gamma.segment();
        Parallel.forRange(rows, Math.max(1, 8192 / d), (lo, hi) -> layerNormRows(xs, ys, os, gs, d, eps, lo, hi));
    }

    /**
     * LayerNorm backward over rows [lo, hi). Each row (x and dy) is copied into zero-padded per-thread arrays, so
     * that every pass runs whole vectors from arrays with one loop body; the two masked operations of the sums
     * (which must leave the padding out) take a mask that is all-true except on the last vector. The statistics
     * and the gradient are two vector methods, the second entered through a handle ({@link Vec#alone}): together
     * they would pass C2's inlining budget.
     */
    private static void layerNormRows(MemorySegment xs, MemorySegment ys, MemorySegment os, MemorySegment gs, int d,
                                      float eps, int lo, int hi) {
        int dp = Vec.roundUp(d, VL);
        float[] ga = Scratch.floats(0, dp), x = Scratch.floats(1, dp), y = Scratch.floats(2, dp);
        float[] o = Scratch.floats(3, dp), lanes = Scratch.floats(4, VL);
        Vec.padded(gs, d, ga);
        java.util.Arrays.fill(x, d, dp, 0f);
        java.util.Arrays.fill(y, d, dp, 0f);
        for (int r = lo; r < hi; r++) {
            long base = (long) r * d;
            MemorySegment.copy(xs, Vec.F, base << 2, x, 0, d);
            MemorySegment.copy(ys, Vec.F, base << 2, y, 0, d);
            rowStatistics(x, d, eps, lanes);
            try {
                rowGradient.invokeExact(x, y, ga, d, lanes[0], lanes[1], lanes, o);
            } catch (Throwable t) {
                throw Vec.rethrow(t);
            }
            MemorySegment.copy(o, 0, os, Vec.F, base << 2, d);
        }
    }

    private static java.lang.invoke.MethodHandle rowGradient = Vec.alone(java.lang.invoke.MethodHandles.lookup(),
            "rowGradient", float[].class, float[].class, float[].class, int.class, float.class, float.class,
            float[].class, float[].class);

    /** The row's mean and rstd into lanes[0], lanes[1] (x zero-padded to whole vectors). */
    private static void rowStatistics(float[] x, int d, float eps, float[] lanes) {
        int dp = Vec.roundUp(d, VL);
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
        int dp = Vec.roundUp(d, VL);
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

    /** Rows the LayerNorm affine gradient sums in float before adding them in double. */
    private static final int LN_RUN = 64;
    private static final int LN_MAX_CHUNKS = 64;

    /**
     * dGamma[j] += Σ_rows dy·x̂ and dBeta[j] += Σ_rows dy, with each row's mean and rstd recomputed as
     * {@link #layerNorm} does. The rows are cut into a fixed number of chunks (by the shape alone, so sums do not
     * depend on the thread count); a chunk sums its rows in float vectors {@link #LN_RUN} rows at a time and adds
     * those runs in double; chunks are reduced in order, in double.
     */
    static void layerNormAffine(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dGamma, Tensor dBeta) {
        String op = "layerNormBackwardAffine";
        Check.host(op, "x", x);
        Check.host(op, "dY", dY);
        Check.that(x.rank() >= 1, op + ": x must have a last dimension");
        Check.sameShape(op, "x", x, "dY", dY);
        int d = x.dim(-1);
        Check.shape(op, "gamma", gamma, d);
        if (dGamma != null) Check.shape(op, "dGamma", dGamma, d);
        if (dBeta != null) Check.shape(op, "dBeta", dBeta, d);
        Check.that(dGamma == null || dBeta == null || !Check.sameBytes(dGamma, dBeta), op + ": dGamma must not alias dBeta");
        if (x.size() == 0 || (dGamma == null && dBeta == null)) return;
        int rows = CpuGradSupport.rows(x.size(), d, op);
        int chunks = Math.max(1, Math.min(LN_MAX_CHUNKS, (rows + LN_RUN - 1) / LN_RUN));
        double[] p1 = Workspace.zeroedDoubles(0, chunks * d), p2 = Workspace.zeroedDoubles(1, chunks * d);
        MemorySegment xs = x.segment(), ys = dY.segment();
        boolean wantGamma = dGamma != null;
        Parallel.forRange(chunks, 1, (lo, hi) -> {
            int dp = Vec.roundUp(d, VL);
            float[] a1 = Scratch.floats(0, dp), a2 = Scratch.floats(1, dp);
            for (int chunk = lo; chunk < hi; chunk++) {
                int r0 = (int) ((long) rows * chunk / chunks), r1 = (int) ((long) rows * (chunk + 1) / chunks);
                for (int b0 = r0; b0 < r1; b0 += LN_RUN) {
                    int b1 = Math.min(r1, b0 + LN_RUN);
                    Arrays.fill(a1, 0, dp, 0f);
                    Arrays.fill(a2, 0, dp, 0f);
                    if (wantGamma) affineRun(xs, ys, d, eps, b0, b1, a1, a2);
                    else betaRun(ys, d, b0, b1, a1);
                    int pb = chunk * d;
                    for (int j = 0; j < d; j++) {
                        p1[pb + j] += a1[j];
                        p2[pb + j] += a2[j];
                    }
                }
            }
        });
        for (int j = 0; j < d; j++) {
            double s1 = 0, s2 = 0;
            for (int k = 0; k < chunks; k++) {
                s1 += p1[k * d + j];
                s2 += p2[k * d + j];
            }
            if (dBeta != null) Vec.set(dBeta.segment(), j, (float) (Vec.get(dBeta.segment(), j) + s1));
            if (dGamma != null) Vec.set(dGamma.segment(), j, (float) (Vec.get(dGamma.segment(), j) + s2));
        }
    }

    /**
     * Rows [b0, b1): a1 += dy and a2 += dy·x̂ per column, in float, rows in order, x̂ recomputed per row as {@link
     * #layerNorm} does; each row copied into zero-padded per-thread arrays first (see {@link #layerNormRows}).
     */
    private static void affineRun(MemorySegment xs, MemorySegment ys, int d, float eps, int b0, int b1, float[] a1,
                                  float[] a2) {
        int dp = Vec.roundUp(d, VL);
        float[] x = Scratch.floats(2, dp), y = Scratch.floats(3, dp), lanes = Scratch.floats(4, VL);
        java.util.Arrays.fill(x, d, dp, 0f);
        java.util.Arrays.fill(y, d, dp, 0f);
        for (int r = b0; r < b1; r++) {
            long base = (long) r * d;
            MemorySegment.copy(xs, Vec.F, base << 2, x, 0, d);
            MemorySegment.copy(ys, Vec.F, base << 2, y, 0, d);
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
    private static void betaRun(MemorySegment ys, int d, int b0, int b1, float[] a1) {
        int dp = Vec.roundUp(d, VL);
        float[] y = Scratch.floats(3, dp);
        java.util.Arrays.fill(y, d, dp, 0f);
        for (int r = b0; r < b1; r++) {
            MemorySegment.copy(ys, Vec.F, ((long) r * d) << 2, y, 0, d);
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
}
