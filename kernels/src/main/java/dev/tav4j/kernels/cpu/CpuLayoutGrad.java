package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Backward of the data-movement ops (nearest upsampling, channel concat) and the squared norm of a tensor. */
final class CpuLayoutGrad {
    private static final int SQ_CHUNK = 1 << 16;

    private CpuLayoutGrad() {}

    /**
     * dX[n, iy, ix] = Σ dY[n, oy, ox] over the outputs whose source floor(o·in/out) is (iy, ix): the rows
     * oy ∈ [⌈iy·Ho/H⌉, ⌈(iy+1)·Ho/H⌉), likewise the columns. Parallel over input rows; no races.
     */
    static void upsampleNearest(Tensor dY, Tensor dX, boolean vector) {
        String op = "upsampleNearestBackward";
        Check.rank(op, "dY", dY, 4);
        Check.rank(op, "dX", dX, 4);
        int n = dX.dim(0), h = dX.dim(1), w = dX.dim(2), c = dX.dim(3), ho = dY.dim(1), wo = dY.dim(2);
        Check.that(dY.dim(0) == n && dY.dim(3) == c, op + ": dY " + dY + " must keep N and C of dX " + dX);
        Check.that(!Check.sameBytes(dX, dY) || dX.size() == 0, op + ": dX must not alias dY");
        if (dX.size() == 0) return;
        Check.that(ho > 0 && wo > 0, op + ": dY " + dY + " is empty");
        MemorySegment ys = dY.segment(), xs = dX.segment();
        Parallel.forRange(n * h, Math.max(1, 4096 / Math.max(1, w * c)), (lo, hi) -> {
            for (int row = lo; row < hi; row++) {
                int img = row / h, iy = row - img * h;
                int oy0 = ceilDiv((long) iy * ho, h), oy1 = ceilDiv((long) (iy + 1) * ho, h);
                for (int ix = 0; ix < w; ix++) {
                    int ox0 = ceilDiv((long) ix * wo, w), ox1 = ceilDiv((long) (ix + 1) * wo, w);
                    long dst = ((long) row * w + ix) * c;
                    if (vector) VecLoops.sumPixels(ys, (long) img * ho, oy0, oy1, wo, ox0, ox1, c, xs, dst);
                    else ScalarLoops.sumPixels(ys, (long) img * ho, oy0, oy1, wo, ox0, ox1, c, xs, dst);
                }
            }
        });
    }

    private static int ceilDiv(long a, int b) {
        return (int) ((a + b - 1) / b);
    }

    static void splitChannels(Tensor dOut, Tensor dA, Tensor dB) {
        String op = "splitChannels";
        Check.host(op, "dOut", dOut);
        Check.host(op, "dA", dA);
        Check.host(op, "dB", dB);
        Check.that(dA.rank() >= 1 && dA.rank() == dB.rank() && dA.rank() == dOut.rank(),
                op + ": dA " + dA + ", dB " + dB + " and dOut " + dOut + " must have the same rank");
        int ca = dA.dim(-1), cb = dB.dim(-1);
        int[] lead = Arrays.copyOf(dOut.shape(), dOut.rank() - 1);
        Check.that(Arrays.equals(lead, Arrays.copyOf(dA.shape(), dA.rank() - 1))
                        && Arrays.equals(lead, Arrays.copyOf(dB.shape(), dB.rank() - 1)),
                op + ": dA " + dA + " and dB " + dB + " must match dOut " + dOut + " before the last dimension");
        Check.that(dOut.dim(-1) == ca + cb, op + ": dOut " + dOut + " must have Ca + Cb = " + (ca + cb) + " channels");
        int c = ca + cb;
        if (c == 0) return;
        int rows = CpuGradSupport.rows(dOut.size(), c, op);
        MemorySegment os = dOut.segment(), as = dA.segment(), bs = dB.segment();
        Parallel.forRange(rows, Math.max(1, 8192 / c), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                MemorySegment.copy(os, (long) r * c * 4, as, (long) r * ca * 4, (long) ca * 4);
                MemorySegment.copy(os, ((long) r * c + ca) * 4, bs, (long) r * cb * 4, (long) cb * 4);
            }
        });
    }

    /** Σ x², each element squared and summed in double; chunk sums (fixed chunks) added in order. */
    static double sumOfSquares(Tensor x) {
        Check.host("sumOfSquares", "x", x);
        MemorySegment xs = x.segment();
        long n = x.size();
        int items = (int) ((n + SQ_CHUNK - 1) / SQ_CHUNK);
        double[] part = new double[items];
        Parallel.forRange(items, 1, (lo, hi) -> {
            for (int it = lo; it < hi; it++) {
                long i0 = (long) it * SQ_CHUNK, i1 = Math.min(n, i0 + SQ_CHUNK);
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                long i = i0;
                for (; i + 3 < i1; i += 4) {
                    double a = Floats.get(xs, i), b = Floats.get(xs, i + 1), cc = Floats.get(xs, i + 2), d = Floats.get(xs, i + 3);
                    s0 += a * a;
                    s1 += b * b;
                    s2 += cc * cc;
                    s3 += d * d;
                }
                for (; i < i1; i++) { double a = Floats.get(xs, i); s0 += a * a; }
                part[it] = (s0 + s1) + (s2 + s3);
            }
        });
        double s = 0;
        for (double p : part) s += p;
        return s;
    }
}
