package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

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
                          Tensor dY, Tensor dX, boolean vector) {
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
        CpuGroupNormGradPasses st = new CpuGroupNormGradPasses(x.segment(), videos, pixels, c, vector);
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
                                boolean silu, Tensor dY, Tensor dGamma, Tensor dBeta, boolean vector) {
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
        CpuGroupNormGradPasses st = new CpuGroupNormGradPasses(x.segment(), videos, pixels, c, vector);
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
            Floats.set(a, ch, (float) (Floats.get(a, ch) + s));
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

    static void layerNorm(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dX, boolean vector) {
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
        if (vector) Parallel.forRange(rows, Math.max(1, 8192 / d), (lo, hi) -> VecNorm.layerNormBackwardRows(xs, ys, os, gs, d, eps, lo, hi));
        else Parallel.forRange(rows, Math.max(1, 8192 / d), (lo, hi) -> ScalarNorm.layerNormBackwardRows(xs, ys, os, gs, d, eps, lo, hi));
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
    static void layerNormAffine(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dGamma, Tensor dBeta,
                                boolean vector) {
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
            int dp = Floats.roundUp(d, Floats.lanes(vector));
            float[] a1 = Scratch.floats(0, dp), a2 = Scratch.floats(1, dp);
            for (int chunk = lo; chunk < hi; chunk++) {
                int r0 = (int) ((long) rows * chunk / chunks), r1 = (int) ((long) rows * (chunk + 1) / chunks);
                for (int b0 = r0; b0 < r1; b0 += LN_RUN) {
                    int b1 = Math.min(r1, b0 + LN_RUN);
                    Arrays.fill(a1, 0, dp, 0f);
                    Arrays.fill(a2, 0, dp, 0f);
                    if (!vector) ScalarNorm.layerNormAffineRun(xs, ys, d, eps, b0, b1, a1, wantGamma ? a2 : null);
                    else if (wantGamma) VecNorm.affineRun(xs, ys, d, eps, b0, b1, a1, a2);
                    else VecNorm.betaRun(ys, d, b0, b1, a1);
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
            if (dBeta != null) Floats.set(dBeta.segment(), j, (float) (Floats.get(dBeta.segment(), j) + s1));
            if (dGamma != null) Floats.set(dGamma.segment(), j, (float) (Floats.get(dGamma.segment(), j) + s2));
        }
    }
}
