package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * GroupNorm over channels-last images with statistics pooled over consecutive frames. Two passes for the
 * statistics (mean, then the biased variance around it), each accumulated per channel in float vectors over
 * short runs of pixels and in double across runs; then y = x·scale[c] + shift[c] (+ SiLU), as PyTorch applies it.
 */
final class CpuGroupNorm {
    /** Pixels summed in float before the partial sums move to double. */
    private static final int RUN = 64;

    private CpuGroupNorm() {}

    static void run(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu, Tensor out,
                    boolean vector) {
        String op = "groupNorm";
        Check.host(op, "x", x);
        Check.that(x.rank() >= 2, op + ": x must be [N, ..., C], got " + x);
        Check.sameShape(op, "x", x, "out", out);
        Check.host(op, "out", out);
        int n = x.dim(0), c = x.dim(-1);
        Check.that(groups > 0 && c % groups == 0, op + ": groups " + groups + " must divide the " + c + " channels");
        Check.that(framesPooled > 0 && n % framesPooled == 0,
                op + ": framesPooled " + framesPooled + " must divide N = " + n);
        Check.shape(op, "gamma", gamma, c);
        Check.shape(op, "beta", beta, c);
        int videos = n / framesPooled;
        long pixelsPerVideo = x.size() / c / videos;
        int chunks = (int) Math.max(1, Math.min((pixelsPerVideo + RUN - 1) / RUN, Math.max(1, 4 * Parallel.THREADS / videos)));
        MemorySegment xs = x.segment(), os = out.segment();
        int cg = c / groups;
        double count = (double) pixelsPerVideo * cg;

        double[] part = Workspace.zeroedDoubles(0, videos * chunks * c);
        float[] mean = new float[videos * c]; // per video, the group mean repeated over the group's channels
        channelSums(xs, null, videos, chunks, pixelsPerVideo, c, part, vector);
        double[] groupMean = reduce(part, videos, chunks, c, groups, count);
        for (int v = 0; v < videos; v++)
            for (int ch = 0; ch < c; ch++) mean[v * c + ch] = (float) groupMean[v * groups + ch / cg];
        java.util.Arrays.fill(part, 0, videos * chunks * c, 0.0);
        channelSums(xs, mean, videos, chunks, pixelsPerVideo, c, part, vector);
        double[] groupVar = reduce(part, videos, chunks, c, groups, count);

        float[] scale = new float[videos * c], shift = new float[videos * c];
        MemorySegment gs = gamma.segment(), bs = beta.segment();
        for (int v = 0; v < videos; v++)
            for (int ch = 0; ch < c; ch++) {
                int g = v * groups + ch / cg;
                double rstd = 1.0 / Math.sqrt(groupVar[g] + eps);
                float sc = (float) (Floats.get(gs, ch) * rstd);
                scale[v * c + ch] = sc;
                shift[v * c + ch] = (float) (Floats.get(bs, ch) - groupMean[g] * sc);
            }
        apply(xs, os, videos, pixelsPerVideo, c, scale, shift, silu, vector);
    }

    /** part[(v·chunks + chunk)·C + c] += Σ over the chunk's pixels of (x − centre[v, c]) (squared when centred). */
    private static void channelSums(MemorySegment xs, float[] centre, int videos, int chunks, long pixels, int c,
                                    double[] part, boolean vector) {
        Parallel.forRange(videos * chunks, 1, (lo, hi) -> {
            int cp = Floats.roundUp(c, Floats.lanes(vector));
            float[] acc = Scratch.floats(0, cp), mu = Scratch.floats(1, cp);
            for (int item = lo; item < hi; item++) {
                int v = item / chunks, chunk = item % chunks;
                long p0 = pixels * chunk / chunks, p1 = pixels * (chunk + 1) / chunks;
                long base = (long) v * pixels * c;
                int pb = item * c;
                if (centre != null) System.arraycopy(centre, v * c, mu, 0, c);
                for (long r0 = p0; r0 < p1; r0 += RUN) {
                    long r1 = Math.min(p1, r0 + RUN);
                    if (!vector) ScalarNorm.channelSums(xs, base, r0, r1, c, centre == null ? null : mu, acc);
                    else if (centre == null) VecNorm.sumRun(xs, base, r0, r1, c, acc);
                    else VecNorm.squaresRun(xs, base, r0, r1, c, mu, acc);
                    for (int ch = 0; ch < c; ch++) part[pb + ch] += acc[ch];
                }
            }
        });
    }

    /** Per (video, group): the sum over chunks and the group's channels, divided by count. */
    private static double[] reduce(double[] part, int videos, int chunks, int c, int groups, double count) {
        double[] g = new double[videos * groups];
        int cg = c / groups;
        for (int v = 0; v < videos; v++)
            for (int k = 0; k < chunks; k++)
                for (int ch = 0; ch < c; ch++) g[v * groups + ch / cg] += part[(v * chunks + k) * c + ch];
        for (int i = 0; i < g.length; i++) g[i] /= count;
        return g;
    }

    private static void apply(MemorySegment xs, MemorySegment os, int videos, long pixels, int c, float[] scale,
                              float[] shift, boolean silu, boolean vector) {
        int rowsPerItem = (int) Math.max(1, Math.min(pixels, 16384 / Math.max(1, c)));
        int perVideo = (int) ((pixels + rowsPerItem - 1) / rowsPerItem);
        Parallel.forRange(videos * perVideo, 1, (lo, hi) -> {
            int lanes = Floats.lanes(vector), cp = Floats.roundUp(c, lanes);
            float[] sc = Scratch.floats(0, cp), sh = Scratch.floats(1, cp), t = Scratch.floats(2, lanes);
            for (int item = lo; item < hi; item++) {
                int v = item / perVideo;
                long r0 = v * pixels + (long) (item % perVideo) * rowsPerItem;
                long r1 = Math.min((v + 1) * pixels, r0 + rowsPerItem);
                System.arraycopy(scale, v * c, sc, 0, c);
                System.arraycopy(shift, v * c, sh, 0, c);
                if (!vector) ScalarNorm.groupNormApply(xs, os, r0, r1, c, sc, sh, silu);
                else if (silu) VecNorm.applySilu(xs, os, r0, r1, c, sc, sh, t);  // through its handle: compiled alone
                else VecNorm.applyPlain(xs, os, r0, r1, c, sc, sh, t);
            }
        });
    }
}
