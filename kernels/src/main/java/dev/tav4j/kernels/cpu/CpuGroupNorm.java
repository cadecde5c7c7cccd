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
 * GroupNorm over channels-last images with statistics pooled over consecutive frames. Two passes for the
 * statistics (mean, then the biased variance around it), each accumulated per channel in float vectors over
 * short runs of pixels and in double across runs; then y = x·scale[c] + shift[c] (+ SiLU), as PyTorch applies it.
 */
final class CpuGroupNorm {
    /** Pixels summed in float before the partial sums move to double. */
    private static final int RUN = 64;

    private CpuGroupNorm() {}

    static void run(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu, Tensor out) {
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

        double[] part = new double[videos * chunks * c];
        float[] mean = new float[videos * c]; // per video, the group mean repeated over the group's channels
        channelSums(xs, null, videos, chunks, pixelsPerVideo, c, part);
        double[] groupMean = reduce(part, videos, chunks, c, groups, count);
        for (int v = 0; v < videos; v++)
            for (int ch = 0; ch < c; ch++) mean[v * c + ch] = (float) groupMean[v * groups + ch / cg];
        java.util.Arrays.fill(part, 0);
        channelSums(xs, mean, videos, chunks, pixelsPerVideo, c, part);
        double[] groupVar = reduce(part, videos, chunks, c, groups, count);

        float[] scale = new float[videos * c], shift = new float[videos * c];
        MemorySegment gs = gamma.segment(), bs = beta.segment();
        for (int v = 0; v < videos; v++)
            for (int ch = 0; ch < c; ch++) {
                int g = v * groups + ch / cg;
                double rstd = 1.0 / Math.sqrt(groupVar[g] + eps);
                float sc = (float) (Vec.get(gs, ch) * rstd);
                scale[v * c + ch] = sc;
                shift[v * c + ch] = (float) (Vec.get(bs, ch) - groupMean[g] * sc);
            }
        apply(xs, os, videos, pixelsPerVideo, c, scale, shift, silu);
    }

    /** part[(v·chunks + chunk)·C + c] += Σ over the chunk's pixels of (x − centre[v, c]) (squared when centred). */
    private static void channelSums(MemorySegment xs, float[] centre, int videos, int chunks, long pixels, int c,
                                    double[] part) {
        Parallel.forRange(videos * chunks, 1, (lo, hi) -> {
            float[] acc = Scratch.floats(0, Vec.roundUp(c, VL));
            for (int item = lo; item < hi; item++) {
                int v = item / chunks, chunk = item % chunks;
                long p0 = pixels * chunk / chunks, p1 = pixels * (chunk + 1) / chunks;
                long base = (long) v * pixels * c;
                int pb = item * c;
                for (long r0 = p0; r0 < p1; r0 += RUN) {
                    long r1 = Math.min(p1, r0 + RUN);
                    java.util.Arrays.fill(acc, 0, c, 0f);
                    for (int c0 = 0; c0 < c; c0 += VL) {
                        VectorMask<Float> m = Vec.head(c - c0);
                        FloatVector mu = centre == null ? null : FloatVector.fromArray(S, centre, v * c + c0, m);
                        FloatVector s = FloatVector.zero(S);
                        for (long r = r0; r < r1; r++) {
                            FloatVector xv = Vec.load(xs, base + r * c + c0, m);
                            if (mu == null) s = s.add(xv);
                            else { FloatVector d = xv.sub(mu); s = d.fma(d, s); }
                        }
                        s.intoArray(acc, c0, m);
                    }
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
                              float[] shift, boolean silu) {
        int rowsPerItem = (int) Math.max(1, Math.min(pixels, 16384 / Math.max(1, c)));
        int perVideo = (int) ((pixels + rowsPerItem - 1) / rowsPerItem);
        Parallel.forRange(videos * perVideo, 1, (lo, hi) -> {
            for (int item = lo; item < hi; item++) {
                int v = item / perVideo;
                long r0 = v * pixels + (long) (item % perVideo) * rowsPerItem;
                long r1 = Math.min((v + 1) * pixels, r0 + rowsPerItem);
                int sb = v * c;
                for (long r = r0; r < r1; r++) {
                    long i = r * c;
                    for (int c0 = 0; c0 < c; c0 += VL) {
                        VectorMask<Float> m = Vec.head(c - c0);
                        FloatVector y = Vec.load(xs, i + c0, m).fma(FloatVector.fromArray(S, scale, sb + c0, m),
                                FloatVector.fromArray(S, shift, sb + c0, m));
                        if (silu) y = VMath.silu(y);
                        Vec.store(y, os, i + c0, m);
                    }
                }
            }
        });
    }
}
