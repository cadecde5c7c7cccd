package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import java.lang.foreign.MemorySegment;

/**
 * The passes of the GroupNorm backward over x [videos, pixels, C]: per-channel sums over each video (of x, of
 * (x − μ)², and of g and g·x̂, or of dz and dz·x̂ for the affine gradients), and the final element-wise dx. Each
 * video is cut into a fixed number of pixel chunks (independent of the thread count, so sums are reproducible); a
 * chunk sums {@link #RUN} pixels at a time in float vectors and adds the runs in double; chunks are reduced in
 * order. The gradient passes copy each run of pixel rows into per-thread arrays padded to whole vectors, so one
 * vector loop covers every channel, and each kind of pass is its own lambda and vector method ({@link VecNorm}; the
 * scalar twins in {@link ScalarNorm}): small compilations that C2 always inlines whole (see {@link Vec}).
 */
final class CpuGroupNormGradPasses {
    private static final int RUN = 64;
    private static final int MAX_CHUNKS = 64;
    private final MemorySegment xs;
    private final int videos, c, chunks;
    private final long pixels;
    /** The Vector API's loops ({@link VecNorm}) or their scalar twins ({@link ScalarNorm}). */
    private final boolean vector;

    CpuGroupNormGradPasses(MemorySegment xs, int videos, long pixels, int c, boolean vector) {
        this.xs = xs;
        this.vector = vector;
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
        int cp = Floats.roundUp(c, Floats.lanes(vector));
        float[] acc = Scratch.floats(0, cp), mu = Scratch.floats(1, cp);
        for (int item = lo; item < hi; item++) {
            int v = item / chunks, chunk = item % chunks;
            long p0 = pixels * chunk / chunks, p1 = pixels * (chunk + 1) / chunks;
            long base = (long) v * pixels * c;
            int pb = item * c;
            if (mean != null) System.arraycopy(mean, v * c, mu, 0, c);
            for (long r0 = p0; r0 < p1; r0 += RUN) {
                long r1 = Math.min(p1, r0 + RUN);
                if (!vector) ScalarNorm.channelSums(xs, base, r0, r1, c, mean == null ? null : mu, acc);
                else if (mean == null) VecNorm.sumRun(xs, base, r0, r1, c, acc);
                else VecNorm.squaresRun(xs, base, r0, r1, c, mu, acc);
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
        static Buffers of(int c, float[] gamma, float[] beta, boolean timesGamma, int lanes) {
            int cp = Floats.roundUp(c, lanes);
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
                MemorySegment.copy(xs, Floats.F, at, xb, to, c);
                MemorySegment.copy(dy, Floats.F, at, yb, to, c);
            }
        }
    }

    /** Work items [lo, hi) of {Σ g, Σ g·x̂} with g = dy·gm. */
    private void gradRuns(float[] mean, float[] rstd, float[] gamma, boolean timesGamma, MemorySegment dy,
                          double[] part, double[] part2, int lo, int hi) {
        Buffers b = Buffers.of(c, gamma, null, timesGamma, Floats.lanes(vector));
        for (int item = lo; item < hi; item++) {
            int v = item / chunks, chunk = item % chunks;
            long p0 = pixels * chunk / chunks, p1 = pixels * (chunk + 1) / chunks, base = (long) v * pixels * c;
            System.arraycopy(mean, v * c, b.mu, 0, c);
            System.arraycopy(rstd, v * c, b.rs, 0, c);
            for (long r0 = p0; r0 < p1; r0 += RUN) {
                long r1 = Math.min(p1, r0 + RUN);
                b.rows(xs, dy, base, r0, r1, c);
                if (vector) VecNorm.gradSums(b.xb, b.yb, (int) (r1 - r0), b.cp, b.mu, b.rs, b.gm, b.acc, b.acc2);
                else ScalarNorm.gradSums(b.xb, b.yb, (int) (r1 - r0), b.cp, b.mu, b.rs, b.gm, b.acc, b.acc2);
                addTo(part, part2, item * c, b);
            }
        }
    }

    /** {@link #gradRuns} with dy taken through the SiLU after the affine (see {@link #gradSumsSilu}). */
    private void gradRunsSilu(float[] mean, float[] rstd, float[] gamma, float[] beta, boolean timesGamma,
                              MemorySegment dy, double[] part, double[] part2, int lo, int hi) {
        Buffers b = Buffers.of(c, gamma, beta, timesGamma, Floats.lanes(vector));
        for (int item = lo; item < hi; item++) {
            int v = item / chunks, chunk = item % chunks;
            long p0 = pixels * chunk / chunks, p1 = pixels * (chunk + 1) / chunks, base = (long) v * pixels * c;
            System.arraycopy(mean, v * c, b.mu, 0, c);
            System.arraycopy(rstd, v * c, b.rs, 0, c);
            for (long r0 = p0; r0 < p1; r0 += RUN) {
                long r1 = Math.min(p1, r0 + RUN);
                b.rows(xs, dy, base, r0, r1, c);
                if (vector) VecNorm.gradSumsSilu(b.xb, b.yb, (int) (r1 - r0), b.cp, b.mu, b.rs, b.ga, b.be, b.gm, b.acc, b.acc2);
                else ScalarNorm.gradSumsSilu(b.xb, b.yb, (int) (r1 - r0), b.cp, b.mu, b.rs, b.ga, b.be, b.gm, b.acc, b.acc2);
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
        Buffers b = Buffers.of(c, gamma, null, true, Floats.lanes(vector));
        int cp = b.cp;
        float[] ms = Scratch.floats(9, 4 * cp);
        for (int item = lo; item < hi; item++) {
            long r1 = Math.min(total, (long) (item + 1) * rowsPerItem);
            for (long r = (long) item * rowsPerItem; r < r1; ) {
                int v = (int) (r / pixels);
                long end = Math.min(Math.min(r1, (v + 1) * pixels), r + RUN);
                means.video(v, c, cp, ms);
                b.rows(xs, dy, 0, r, end, c);
                if (vector) VecNorm.applyRun(b.xb, b.yb, (int) (end - r), cp, ms, b.ga);
                else ScalarNorm.applyRun(b.xb, b.yb, (int) (end - r), cp, ms, b.ga);
                store(b.xb, dx, r, end, c, cp);
                r = end;
            }
        }
    }

    /** {@link #applyRows} with dy taken through the SiLU after the affine first. */
    private void applyRowsSilu(Means means, float[] gamma, float[] beta, MemorySegment dy, MemorySegment dx,
                               int rowsPerItem, long total, int lo, int hi) {
        Buffers b = Buffers.of(c, gamma, beta, true, Floats.lanes(vector));
        int cp = b.cp;
        float[] ms = Scratch.floats(9, 4 * cp);
        for (int item = lo; item < hi; item++) {
            long r1 = Math.min(total, (long) (item + 1) * rowsPerItem);
            for (long r = (long) item * rowsPerItem; r < r1; ) {
                int v = (int) (r / pixels);
                long end = Math.min(Math.min(r1, (v + 1) * pixels), r + RUN);
                means.video(v, c, cp, ms);
                b.rows(xs, dy, 0, r, end, c);
                if (vector) VecNorm.applyRunSilu(b.xb, b.yb, (int) (end - r), cp, ms, b.ga, b.be);
                else ScalarNorm.applyRunSilu(b.xb, b.yb, (int) (end - r), cp, ms, b.ga, b.be);
                store(b.xb, dx, r, end, c, cp);
                r = end;
            }
        }
    }

    /** Rows [r0, r1) of dx from the padded rows of xb. */
    private static void store(float[] xb, MemorySegment dx, long r0, long r1, int c, int cp) {
        for (long r = r0; r < r1; r++) MemorySegment.copy(xb, (int) (r - r0) * cp, dx, Floats.F, (r * c) << 2, c);
    }

}
