package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Channels-last 2D convolution as an implicit GEMM. With the input zero-padded (a pooled copy, only when there
 * is padding), the kw·Ci inputs of one kernel row are contiguous for every output pixel, and the weights
 * [kh, kw, Ci, Co] are already a [kh·kw·Ci, Co] matrix: one GEMM over all output pixels with kh runs of K.
 */
final class CpuConv2d {
    private CpuConv2d() {}

    static void run(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly, Tensor out,
                    boolean vector) {
        String op = "conv2d";
        Check.rank(op, "x", x, 4);
        Check.rank(op, "w", w, 4);
        Check.rank(op, "out", out, 4);
        int n = x.dim(0), h = x.dim(1), wd = x.dim(2), ci = x.dim(3);
        int kh = w.dim(0), kw = w.dim(1), co = w.dim(3);
        Check.that(w.dim(2) == ci, op + ": w [kh, kw, Ci, Co] has Ci " + w.dim(2) + " but x has " + ci + " channels");
        Check.that(stride >= 1, op + ": stride must be >= 1, got " + stride);
        Check.that(padding >= 0, op + ": padding must be >= 0, got " + padding);
        Check.that(!padBottomRightOnly || padding == 0, op + ": padBottomRightOnly needs padding 0, got " + padding);
        if (bias != null) Check.shape(op, "bias", bias, co);
        int top = padBottomRightOnly ? 0 : padding;
        int hp = h + (padBottomRightOnly ? 1 : 2 * padding), wp = wd + (padBottomRightOnly ? 1 : 2 * padding);
        Check.that(hp >= kh && wp >= kw, op + ": kernel " + kh + "x" + kw + " larger than padded input " + hp + "x" + wp);
        int ho = (hp - kh) / stride + 1, wo = (wp - kw) / stride + 1;
        Check.shape(op, "out", out, n, ho, wo, co);
        Check.that(!Check.sameBytes(x, out), op + ": out must not alias x");

        Tensor padded = hp == h && wp == wd ? null : pad(x, top, hp, wp);
        try {
            MemorySegment src = padded == null ? x.segment() : padded.segment();
            long[] shift = new long[kh];
            int[] k0 = new int[kh], len = new int[kh];
            for (int dy = 0; dy < kh; dy++) {
                shift[dy] = (long) dy * wp * ci;
                k0[dy] = dy * kw * ci;
                len[dy] = kw * ci;
            }
            int pixels = ho * wo;
            long rowStep = (long) stride * wp * ci, colStep = (long) stride * ci, image = (long) hp * wp * ci;
            Gemm.Rows rows = m -> {
                int img = m / pixels, rem = m - img * pixels, oy = rem / wo, ox = rem - oy * wo;
                return img * image + oy * rowStep + ox * colStep;
            };
            Gemm.gemm(vector, src, rows, new Gemm.Runs(shift, k0, len), Math.multiplyExact(n, pixels), kh * kw * ci,
                    w.segment(), bias == null ? null : bias.segment(), co, out.segment());
        } finally {
            if (padded != null) padded.close();
        }
    }

    /** A pooled zero-bordered copy of x [N, H, W, C] as [N, hp, wp, C] with the image at (top, top). */
    private static Tensor pad(Tensor x, int top, int hp, int wp) {
        int n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        Tensor p = Tensor.host(n, hp, wp, c);
        MemorySegment src = x.segment(), dst = p.segment();
        long rowBytes = (long) wp * c * 4;
        Parallel.forRange(n * hp, 16, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int img = r / hp, y = r - img * hp - top;
                long d = (long) r * rowBytes;
                if (y < 0 || y >= h) {
                    dst.asSlice(d, rowBytes).fill((byte) 0);
                    continue;
                }
                long inner = (long) w * c * 4, left = (long) top * c * 4;
                dst.asSlice(d, left).fill((byte) 0);
                MemorySegment.copy(src, ((long) img * h + y) * inner, dst, d + left, inner);
                dst.asSlice(d + left + inner, rowBytes - left - inner).fill((byte) 0);
            }
        });
        return p;
    }
}
