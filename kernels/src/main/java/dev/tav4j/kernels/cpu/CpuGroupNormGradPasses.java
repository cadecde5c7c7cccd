package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The passes of the GroupNorm backward over x [videos, pixels, C]: per-channel sums over each video (of x, of
 * (x − μ)², and of g and g·x̂, or of dz and dz·x̂ for the affine gradients), and the final element-wise dx. Each
 * video is cut into a fixed number of pixel chunks (independent of the thread count, so sums are reproducible); a
 * chunk sums {@link #RUN} pixels at a time in float vectors and adds the runs in double; chunks are reduced in
 * order. The gradient passes copy each run of pixel rows into per-thread arrays padded to whole vectors, so one
 * vector loop covers every channel, and each kind of pass is its own lambda and vector method: small compilations
 * that C2 always inlines whole (see {@link Vec}).
 */
final class CpuGroupNormGradPasses {
    private static final int RUN = 64;
    private static final int MAX_CHUNKS = 64;
    /** The two SiLU kernels, about 10,000 IR nodes each, always compile alone ({@link Vec#alone}). */
    private static java.lang.invoke.MethodHandle gradSumsSilu = Vec.alone(java.lang.invoke.MethodHandles.lookup(),
            "gradSumsSiluLoop", float[].class, float[].class, int.class, int.class, float[].class, float[].class,
            float[].class, float[].class, float[].class, float[].class, float[].class);
    private static java.lang.invoke.MethodHandle applyRunSilu = Vec.alone(java.lang.invoke.MethodHandles.lookup(),
            "applyRunSiluLoop", float[].class, float[].class, int.class, int.class, float[].class, float[].class,
            float[].class);

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
        int n = videos * chunks * c;
        double[] part = Workspace.zeroedDoubles(0, n), part2 = grad ? Workspace.zeroedDoubles(1, n) : null;
        // one lambda, and one vector kernel, per kind of pass: each is its own compilation (see Vec)
        if (!grad) Parallel.forRange(videos * chunks, 1, (lo, hi) -> statRuns(mean, part, lo, hi));
        else if (beta == null) Parallel.forRange(videos * chunks, 1, (lo, hi) -> gradRuns(mean, rstd, gamma, timesGamma, dy, part, part2, lo, hi));
        else Parallel.forRange(videos * chunks, 1, (lo, hi) -> gradRunsSilu(mean, rstd, gamma, beta, timesGamma, dy, part, part2, lo, hi));
        return grad ? new double[][] {reduce(part), reduce(part2)} : new double[][] {reduce(part)};
    }

    /** Work items [lo, hi) of Σ x (mean null) or Σ (x − mean)², per (video, chunk, channel) into part. */
    private void statRuns(float[] mean, double[] part, int lo, int hi) {
        int cp = Vec.roundUp(c, VL);
        float[] acc = Scratch.floats(0, cp), mu = Scratch.floats(1, cp);
        for (int item = lo; item < hi; item++) {
            int v = item / chunks, chunk = item % chunks;
            long p0 = pixels * chunk / chunks, p1 = pixels * (chunk + 1) / chunks;
            long base = (long) v * pixels * c;
            int pb = item * c;
            if (mean != null) System.arraycopy(mean, v * c, mu, 0, c);
            for (long r0 = p0; r0 < p1; r0 += RUN) {
                long r1 = Math.min(p1, r0 + RUN);
                if (mean == null) CpuGroupNorm.sumRun(xs, base, r0, r1, c, acc);
                else CpuGroupNorm.squaresRun(xs, base, r0, r1, c, mu, acc);
                for (int ch = 0; ch < c; ch++) part[pb + ch] += acc[ch];
            }
        }
    }

    /**
     * The per-thread arrays of a gradient pass, each zero-padded to whole vectors (cp floats per row): a run of
     * RUN pixel rows of x and dy, the video's mean and rstd, γ, β, the factor g is multiplied by (γ, or ones for the
     * affine sums: g·1 is g exactly) and the two sums.
     */
    private record Buffers(int cp, float[] xb, float[] yb, float[] mu, float[] rs, float[] ga, float[] be, float[] gm,
                           float[] acc, float[] acc2) {
        static Buffers of(int c, float[] gamma, float[] beta, boolean timesGamma) {
            int cp = Vec.roundUp(c, VL);
            Buffers b = new Buffers(cp, Scratch.floats(0, RUN * cp), Scratch.floats(1, RUN * cp), Scratch.floats(2, cp),
                    Scratch.floats(3, cp), Scratch.floats(4, cp), Scratch.floats(5, cp), Scratch.floats(6, cp),
                    Scratch.floats(7, cp), Scratch.floats(8, cp));
            java.util.Arrays.fill(b.xb, 0, RUN * cp, 0f); // the padding stays zero: rows are copied into [0, c)
            java.util.Arrays.fill(b.yb, 0, RUN * cp, 0f);
            System.arraycopy(gamma, 0, b.ga, 0, c);
            if (beta != null) System.arraycopy(beta, 0, b.be, 0, c);
            if (timesGamma) System.arraycopy(gamma, 0, b.gm, 0, c);
            else java.util.Arrays.fill(b.gm, 0, c, 1f);
            return b;
        }

        /** Copies pixel rows [r0, r1) of x and dy (rows c floats apart from float index base) into xb, yb. */
        void rows(MemorySegment xs, MemorySegment dy, long base, long r0, long r1, int c) {
            for (long r = r0; r < r1; r++) {
                long at = (base + r * c) << 2;
                int to = (int) (r - r0) * cp;
                MemorySegment.copy(xs, Vec.F, at, xb, to, c);
                MemorySegment.copy(dy, Vec.F, at, yb, to, c);
            }
        }
    }

    /** Work items [lo, hi) of {Σ g, Σ g·x̂} with g = dy·gm. */
    private void gradRuns(float[] mean, float[] rstd, float[] gamma, boolean timesGamma, MemorySegment dy,
                          double[] part, double[] part2, int lo, int hi) {
        Buffers b = Buffers.of(c, gamma, null, timesGamma);
        for (int item = lo; item < hi; item++) {
            int v = item / chunks, chunk = item % chunks;
            long p0 = pixels * chunk / chunks, p1 = pixels * (chunk + 1) / chunks, base = (long) v * pixels * c;
            System.arraycopy(mean, v * c, b.mu, 0, c);
            System.arraycopy(rstd, v * c, b.rs, 0, c);
            for (long r0 = p0; r0 < p1; r0 += RUN) {
                long r1 = Math.min(p1, r0 + RUN);
                b.rows(xs, dy, base, r0, r1, c);
                gradSums(b.xb, b.yb, (int) (r1 - r0), b.cp, b.mu, b.rs, b.gm, b.acc, b.acc2);
                addTo(part, part2, item * c, b);
            }
        }
    }

    /** {@link #gradRuns} with dy taken through the SiLU after the affine (see {@link #gradSumsSilu}). */
    private void gradRunsSilu(float[] mean, float[] rstd, float[] gamma, float[] beta, boolean timesGamma,
                              MemorySegment dy, double[] part, double[] part2, int lo, int hi) {
        Buffers b = Buffers.of(c, gamma, beta, timesGamma);
        for (int item = lo; item < hi; item++) {
            int v = item / chunks, chunk = item % chunks;
            long p0 = pixels * chunk / chunks, p1 = pixels * (chunk + 1) / chunks, base = (long) v * pixels * c;
            System.arraycopy(mean, v * c, b.mu, 0, c);
            System.arraycopy(rstd, v * c, b.rs, 0, c);
            for (long r0 = p0; r0 < p1; r0 += RUN) {
                long r1 = Math.min(p1, r0 + RUN);
                b.rows(xs, dy, base, r0, r1, c);
                gradSumsSilu(b.xb, b.yb, (int) (r1 - r0), b.cp, b.mu, b.rs, b.ga, b.be, b.gm, b.acc, b.acc2);
                addTo(part, part2, item * c, b);
            }
        }
    }

    private void addTo(double[] part, double[] part2, int pb, Buffers b) {
        for (int ch = 0; ch < c; ch++) {
            part[pb + ch] += b.acc[ch];
            part2[pb + ch] += b.acc2[ch];
        }
    }

    /**
     * Over the rows of a run (xb, yb: rows × cp), per channel: acc = Σ g and acc2 = Σ g·x̂ with x̂ = (x − μ)·rstd and
     * g = dy·gm, in float, pixels in order (the padding lanes compute garbage nobody reads).
     */
    private static void gradSums(float[] xb, float[] yb, int rows, int cp, float[] mu, float[] rs, float[] gm,
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
    private static void gradSumsSilu(float[] xb, float[] yb, int rows, int cp, float[] mu, float[] rs, float[] ga,
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
        Means means = new Means(mean, rstd, m1, m2);
        if (beta == null) Parallel.forRange(items, 1, (lo, hi) -> applyRows(means, gamma, dy, dx, rowsPerItem, total, lo, hi));
        else Parallel.forRange(items, 1, (lo, hi) -> applyRowsSilu(means, gamma, beta, dy, dx, rowsPerItem, total, lo, hi));
    }

    /** Per (video, channel): mean, rstd and the two means of the final pass. */
    private record Means(float[] mean, float[] rstd, float[] m1, float[] m2) {
        /** Copies video v's into the zero-padded a (mean at 0, rstd at cp, m1 at 2·cp, m2 at 3·cp). */
        void video(int v, int c, int cp, float[] a) {
            System.arraycopy(mean, v * c, a, 0, c);
            System.arraycopy(rstd, v * c, a, cp, c);
            System.arraycopy(m1, v * c, a, 2 * cp, c);
            System.arraycopy(m2, v * c, a, 3 * cp, c);
        }
    }

    /** Items [lo, hi) of dx = (g − m1 − x̂·m2)·rstd with g = γ·dy, through RUN-row blocks of padded arrays. */
    private void applyRows(Means means, float[] gamma, MemorySegment dy, MemorySegment dx, int rowsPerItem, long total,
                           int lo, int hi) {
        Buffers b = Buffers.of(c, gamma, null, true);
        int cp = b.cp;
        float[] ms = Scratch.floats(9, 4 * cp);
        for (int item = lo; item < hi; item++) {
            long r1 = Math.min(total, (long) (item + 1) * rowsPerItem);
            for (long r = (long) item * rowsPerItem; r < r1; ) {
                int v = (int) (r / pixels);
                long end = Math.min(Math.min(r1, (v + 1) * pixels), r + RUN);
                means.video(v, c, cp, ms);
                b.rows(xs, dy, 0, r, end, c);
                applyRun(b.xb, b.yb, (int) (end - r), cp, ms, b.ga);
                store(b.xb, dx, r, end, c, cp);
                r = end;
            }
        }
    }

    /** {@link #applyRows} with dy taken through the SiLU after the affine first. */
    private void applyRowsSilu(Means means, float[] gamma, float[] beta, MemorySegment dy, MemorySegment dx,
                               int rowsPerItem, long total, int lo, int hi) {
        Buffers b = Buffers.of(c, gamma, beta, true);
        int cp = b.cp;
        float[] ms = Scratch.floats(9, 4 * cp);
        for (int item = lo; item < hi; item++) {
            long r1 = Math.min(total, (long) (item + 1) * rowsPerItem);
            for (long r = (long) item * rowsPerItem; r < r1; ) {
                int v = (int) (r / pixels);
                long end = Math.min(Math.min(r1, (v + 1) * pixels), r + RUN);
                means.video(v, c, cp, ms);
                b.rows(xs, dy, 0, r, end, c);
                applyRunSilu(b.xb, b.yb, (int) (end - r), cp, ms, b.ga, b.be);
                store(b.xb, dx, r, end, c, cp);
                r = end;
            }
        }
    }

    /** Rows [r0, r1) of dx from the padded rows of xb. */
    private static void store(float[] xb, MemorySegment dx, long r0, long r1, int c, int cp) {
        for (long r = r0; r < r1; r++) MemorySegment.copy(xb, (int) (r - r0) * cp, dx, Vec.F, (r * c) << 2, c);
    }

    /** xb ← (g − m1 − x̂·m2)·rstd over rows × cp, g = dy·γ, the means in ms (see {@link Means#video}). */
    private static void applyRun(float[] xb, float[] yb, int rows, int cp, float[] ms, float[] ga) {
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
    private static void applyRunSilu(float[] xb, float[] yb, int rows, int cp, float[] ms, float[] ga, float[] be) {
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
