package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Backward of GroupNorm (statistics pooled over frames, optional SiLU after the affine) and LayerNorm, affine
 * frozen: with g = γ·dy (dy through SiLU first: a = γ·x̂ + β, da = dy·σ(a)(1 + a(1 − σ(a)))),
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), the means over the normalised set. Statistics and both means are
 * recomputed from x, summed in float over short runs and in double across runs.
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
        int videos = n / framesPooled, cg = c / groups;
        long pixels = x.size() / c / videos;
        CpuGroupNormGradPasses st = new CpuGroupNormGradPasses(x.segment(), videos, pixels, c);
        double count = (double) pixels * cg;
        float[] mean = toFloat(perChannel(st.sum(), videos, c, groups, count));
        double[] var = perChannel(st.centredSquares(mean), videos, c, groups, count);
        float[] rstd = new float[videos * c];
        for (int i = 0; i < rstd.length; i++) rstd[i] = (float) (1.0 / Math.sqrt(var[i] + eps));
        float[] gam = gamma.toArray(), bet = silu ? beta.toArray() : null;
        double[][] sums = st.gradSums(mean, rstd, gam, bet, dY.segment());
        float[] m1 = toFloat(perChannel(sums[0], videos, c, groups, count));
        float[] m2 = toFloat(perChannel(sums[1], videos, c, groups, count));
        st.apply(mean, rstd, gam, bet, m1, m2, dY.segment(), dX.segment());
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
        Parallel.forRange(rows, Math.max(1, 8192 / d), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long base = (long) r * d;
                FloatVector s = FloatVector.zero(S);
                for (int c0 = 0; c0 < d; c0 += VL) s = s.add(Vec.load(xs, base + c0, Vec.head(d - c0)));
                float mean = (float) (sumLanes(s) / d);
                FloatVector mu = FloatVector.broadcast(S, mean);
                FloatVector q = FloatVector.zero(S);
                for (int c0 = 0; c0 < d; c0 += VL) {
                    VectorMask<Float> m = Vec.head(d - c0);
                    FloatVector dv = Vec.load(xs, base + c0, m).sub(mu, m);
                    q = dv.fma(dv, q);
                }
                float rstd = (float) (1.0 / Math.sqrt(sumLanes(q) / d + (double) eps));
                FloatVector rs = FloatVector.broadcast(S, rstd);
                FloatVector s1 = FloatVector.zero(S), s2 = s1;
                for (int c0 = 0; c0 < d; c0 += VL) {
                    VectorMask<Float> m = Vec.head(d - c0);
                    FloatVector xh = Vec.load(xs, base + c0, m).sub(mu).mul(rs);
                    FloatVector g = Vec.load(ys, base + c0, m).mul(Vec.load(gs, c0, m));
                    s1 = s1.add(g, m);
                    s2 = g.fma(xh, s2);
                }
                FloatVector m1 = FloatVector.broadcast(S, (float) (sumLanes(s1) / d));
                FloatVector m2 = FloatVector.broadcast(S, (float) (sumLanes(s2) / d));
                for (int c0 = 0; c0 < d; c0 += VL) {
                    VectorMask<Float> m = Vec.head(d - c0);
                    FloatVector xh = Vec.load(xs, base + c0, m).sub(mu).mul(rs);
                    FloatVector g = Vec.load(ys, base + c0, m).mul(Vec.load(gs, c0, m));
                    Vec.store(g.sub(m1).sub(xh.mul(m2)).mul(rs), os, base + c0, m);
                }
            }
        });
    }

    /** Sum of the lanes in double. */
    static double sumLanes(FloatVector v) {
        double s = 0;
        for (int i = 0; i < VL; i++) s += v.lane(i);
        return s;
    }
}
