package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The passes of the GroupNorm backward over x [videos, pixels, C]: per-channel sums over each video (of x, of
 * (x − μ)², and of g and g·x̂, or of dz and dz·x̂ for the affine gradients), and the final element-wise dx. Each video is cut into a fixed number of pixel
 * chunks (independent of the thread count, so sums are reproducible); a chunk sums {@link #RUN} pixels at a
 * time in float vectors and adds the runs in double; chunks are reduced in order.
 */
final class CpuGroupNormGradPasses {
    private static final int RUN = 64;
    private static final int MAX_CHUNKS = 64;

    private final MemorySegment xs;
    private final int videos, c, chunks;
    private final long pixels;

    CpuGroupNormGradPasses(MemorySegment xs, int videos, long pixels, int c) {
        this.xs = xs;
        this.videos = videos;
        this.pixels = pixels;
        this.c = c;
        this.chunks = (int) Math.max(1, Math.min(MAX_CHUNKS, (pixels + 4 * RUN - 1) / (4 * RUN)));
    }

    /** Σ x per (video, channel). */
    double[] sum() {
        return passes(null, null, null, null, null, true)[0];
    }

    /** Σ (x − mean)² per (video, channel). */
    double[] centredSquares(float[] mean) {
        return passes(mean, null, null, null, null, true)[0];
    }

    /** {Σ g, Σ g·x̂} per (video, channel), g = γ·dy (through SiLU when beta is given). */
    double[][] gradSums(float[] mean, float[] rstd, float[] gamma, float[] beta, MemorySegment dy) {
        return passes(mean, rstd, gamma, beta, dy, true);
    }

    /**
     * {Σ dz, Σ dz·x̂} per (video, channel), dz = dy taken through the SiLU when beta is given (z = γ·x̂ + β): the
     * affine gradients before the sum over videos.
     */
    double[][] affineSums(float[] mean, float[] rstd, float[] gamma, float[] beta, MemorySegment dy) {
        return passes(mean, rstd, gamma, beta, dy, false);
    }

    private double[][] passes(float[] mean, float[] rstd, float[] gamma, float[] beta, MemorySegment dy,
                              boolean timesGamma) {
        boolean grad = rstd != null;
        double[] part = new double[videos * chunks * c], part2 = grad ? new double[videos * chunks * c] : null;
        Parallel.forRange(videos * chunks, 1, (lo, hi) -> {
            int cp = Vec.roundUp(c, VL);
            float[] acc = Scratch.floats(0, cp), acc2 = Scratch.floats(1, cp);
            for (int item = lo; item < hi; item++) {
                int v = item / chunks, chunk = item % chunks;
                long p0 = pixels * chunk / chunks, p1 = pixels * (chunk + 1) / chunks;
                long base = (long) v * pixels * c;
                int vc = v * c, pb = item * c;
                for (long r0 = p0; r0 < p1; r0 += RUN) {
                    long r1 = Math.min(p1, r0 + RUN);
                    for (int c0 = 0; c0 < c; c0 += VL) {
                        VectorMask<Float> m = Vec.head(c - c0);
                        FloatVector s = FloatVector.zero(S), s2 = s;
                        if (mean == null) {
                            for (long r = r0; r < r1; r++) s = s.add(Vec.load(xs, base + r * c + c0, m));
                        } else if (!grad) {
                            FloatVector mu = FloatVector.fromArray(S, mean, vc + c0, m);
                            for (long r = r0; r < r1; r++) {
                                FloatVector d = Vec.load(xs, base + r * c + c0, m).sub(mu);
                                s = d.fma(d, s);
                            }
                        } else {
                            FloatVector mu = FloatVector.fromArray(S, mean, vc + c0, m);
                            FloatVector rs = FloatVector.fromArray(S, rstd, vc + c0, m);
                            FloatVector ga = FloatVector.fromArray(S, gamma, c0, m);
                            FloatVector be = beta == null ? null : FloatVector.fromArray(S, beta, c0, m);
                            for (long r = r0; r < r1; r++) {
                                long i = base + r * c + c0;
                                FloatVector xh = Vec.load(xs, i, m).sub(mu).mul(rs);
                                FloatVector g = dz(Vec.load(dy, i, m), xh, ga, be);
                                if (timesGamma) g = g.mul(ga);
                                s = s.add(g);
                                s2 = g.fma(xh, s2);
                            }
                        }
                        s.intoArray(acc, c0, m);
                        if (grad) s2.intoArray(acc2, c0, m);
                    }
                    for (int ch = 0; ch < c; ch++) part[pb + ch] += acc[ch];
                    if (grad) for (int ch = 0; ch < c; ch++) part2[pb + ch] += acc2[ch];
                }
            }
        });
        return grad ? new double[][] {reduce(part), reduce(part2)} : new double[][] {reduce(part)};
    }

    /** γ·dy, with dy taken through the SiLU after the affine when be (β) is given. */
    private static FloatVector g(FloatVector dy, FloatVector xh, FloatVector ga, FloatVector be) {
        return dz(dy, xh, ga, be).mul(ga);
    }

    /** dy taken through the SiLU after the affine (z = γ·x̂ + β) when be (β) is given, else dy. */
    private static FloatVector dz(FloatVector dy, FloatVector xh, FloatVector ga, FloatVector be) {
        if (be != null) {
            FloatVector a = xh.fma(ga, be);
            FloatVector sig = a.neg().lanewise(VectorOperators.EXP).add(1f);
            sig = FloatVector.broadcast(S, 1f).div(sig);
            // σ(a)·(1 + a·(1 − σ(a)))
            dy = dy.mul(sig.mul(a.mul(sig.neg().add(1f)).add(1f)));
        }
        return dy;
    }

    private double[] reduce(double[] part) {
        double[] r = new double[videos * c];
        for (int v = 0; v < videos; v++)
            for (int k = 0; k < chunks; k++)
                for (int ch = 0; ch < c; ch++) r[v * c + ch] += part[(v * chunks + k) * c + ch];
        return r;
    }

    /** dx = rstd·(g − m1 − x̂·m2), element-wise; dx may alias dy. */
    void apply(float[] mean, float[] rstd, float[] gamma, float[] beta, float[] m1, float[] m2, MemorySegment dy,
               MemorySegment dx) {
        long total = videos * pixels;
        int rowsPerItem = (int) Math.max(1, Math.min(total, 16384 / Math.max(1, c)));
        int items = (int) ((total + rowsPerItem - 1) / rowsPerItem);
        Parallel.forRange(items, 1, (lo, hi) -> {
            for (int item = lo; item < hi; item++) {
                long r0 = (long) item * rowsPerItem, r1 = Math.min(total, r0 + rowsPerItem);
                for (int c0 = 0; c0 < c; c0 += VL) {
                    VectorMask<Float> m = Vec.head(c - c0);
                    FloatVector ga = FloatVector.fromArray(S, gamma, c0, m);
                    FloatVector be = beta == null ? null : FloatVector.fromArray(S, beta, c0, m);
                    int v = -1;
                    FloatVector mu = null, rs = null, a1 = null, a2 = null;
                    for (long r = r0; r < r1; r++) {
                        int rv = (int) (r / pixels);
                        if (rv != v) {
                            v = rv;
                            mu = FloatVector.fromArray(S, mean, v * c + c0, m);
                            rs = FloatVector.fromArray(S, rstd, v * c + c0, m);
                            a1 = FloatVector.fromArray(S, m1, v * c + c0, m);
                            a2 = FloatVector.fromArray(S, m2, v * c + c0, m);
                        }
                        long i = r * c + c0;
                        FloatVector xh = Vec.load(xs, i, m).sub(mu).mul(rs);
                        FloatVector g = g(Vec.load(dy, i, m), xh, ga, be);
                        Vec.store(g.sub(a1).sub(xh.mul(a2)).mul(rs), dx, i, m);
                    }
                }
            }
        });
    }
}
