package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.NATIVE;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
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

        double[] part = Workspace.zeroedDoubles(0, videos * chunks * c);
        float[] mean = new float[videos * c]; // per video, the group mean repeated over the group's channels
        channelSums(xs, null, videos, chunks, pixelsPerVideo, c, part);
        double[] groupMean = reduce(part, videos, chunks, c, groups, count);
        for (int v = 0; v < videos; v++)
            for (int ch = 0; ch < c; ch++) mean[v * c + ch] = (float) groupMean[v * groups + ch / cg];
        java.util.Arrays.fill(part, 0, videos * chunks * c, 0.0);
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
            int cp = Vec.roundUp(c, VL);
            float[] acc = Scratch.floats(0, cp), mu = Scratch.floats(1, cp);
            for (int item = lo; item < hi; item++) {
                int v = item / chunks, chunk = item % chunks;
                long p0 = pixels * chunk / chunks, p1 = pixels * (chunk + 1) / chunks;
                long base = (long) v * pixels * c;
                int pb = item * c;
                if (centre != null) System.arraycopy(centre, v * c, mu, 0, c);
                for (long r0 = p0; r0 < p1; r0 += RUN) {
                    long r1 = Math.min(p1, r0 + RUN);
                    if (centre == null) sumRun(xs, base, r0, r1, c, acc);
                    else squaresRun(xs, base, r0, r1, c, mu, acc);
                    for (int ch = 0; ch < c; ch++) part[pb + ch] += acc[ch];
                }
            }
        });
    }

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
            for (long r = r0; r < r1; r++) s += Vec.get(xs, base + r * c + ch);
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
                float d = Vec.get(xs, base + r * c + ch) - m;
                s = Math.fma(d, d, s);
            }
            acc[ch] = s;
        }
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
            int cp = Vec.roundUp(c, VL);
            float[] sc = Scratch.floats(0, cp), sh = Scratch.floats(1, cp), t = Scratch.floats(2, VL);
            for (int item = lo; item < hi; item++) {
                int v = item / perVideo;
                long r0 = v * pixels + (long) (item % perVideo) * rowsPerItem;
                long r1 = Math.min((v + 1) * pixels, r0 + rowsPerItem);
                System.arraycopy(scale, v * c, sc, 0, c);
                System.arraycopy(shift, v * c, sh, 0, c);
                if (silu) applySilu(xs, os, r0, r1, c, sc, sh, t);  // through its handle: compiled alone
                else applyPlain(xs, os, r0, r1, c, sc, sh, t);
            }
        });
    }

    /**
     * Rows [r0, r1): y = x·scale + shift, one fused multiply-add per element; whole vectors in place, the channels
     * past the last whole vector of each row through t.
     */
    private static void applyPlain(MemorySegment xs, MemorySegment os, long r0, long r1, int c, float[] sc, float[] sh,
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

    private static void applySilu(MemorySegment xs, MemorySegment os, long r0, long r1, int c, float[] sc, float[] sh,
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
}
