package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Gradient of conv2d w.r.t. its input, as a stride-1 forward convolution with the kernel flipped and its channel
 * axes swapped (wf[ey, ex, co, ci] = w[kh−1−ey, kw−1−ex, ci, co]) over dY spread out by the stride and padded
 * by (kernel − 1 − padding). Stride-1 square kernels with symmetric padding hand dY straight to conv2d with
 * padding kh−1−p; other cases first build that spread, padded copy G of dY:
 * G[t, u] = dY[(t + top − kh + 1) / s, (u + left − kw + 1) / s] where the division is exact and in range, else 0.
 * The weight gradient is a GEMM over the output pixels with the input patches gathered on the fly
 * ({@link #backwardWeight}).
 */
final class CpuConvGrad {
    private CpuConvGrad() {}

    static void backwardInput(CpuOps fwd, Tensor dY, Tensor w, int stride, int padding, boolean padBottomRightOnly,
                              Tensor dX) {
        String op = "conv2dBackwardInput";
        Check.rank(op, "dY", dY, 4);
        Check.rank(op, "w", w, 4);
        Check.rank(op, "dX", dX, 4);
        int n = dX.dim(0), h = dX.dim(1), wd = dX.dim(2), ci = dX.dim(3);
        int kh = w.dim(0), kw = w.dim(1), co = w.dim(3);
        Check.that(w.dim(2) == ci, op + ": w [kh, kw, Ci, Co] has Ci " + w.dim(2) + " but dX has " + ci + " channels");
        Check.that(stride >= 1, op + ": stride must be >= 1, got " + stride);
        Check.that(padding >= 0, op + ": padding must be >= 0, got " + padding);
        Check.that(!padBottomRightOnly || padding == 0, op + ": padBottomRightOnly needs padding 0, got " + padding);
        int top = padBottomRightOnly ? 0 : padding;
        int hp = h + (padBottomRightOnly ? 1 : 2 * padding), wp = wd + (padBottomRightOnly ? 1 : 2 * padding);
        Check.that(hp >= kh && wp >= kw, op + ": kernel " + kh + "x" + kw + " larger than padded input " + hp + "x" + wp);
        int ho = (hp - kh) / stride + 1, wo = (wp - kw) / stride + 1;
        Check.shape(op, "dY", dY, n, ho, wo, co);
        Check.that(!Check.sameBytes(dX, dY), op + ": dX must not alias dY");
        if (dX.size() == 0) return;
        try (Tensor wf = Tensor.host(kh, kw, co, ci)) {
            flip(w, wf);
            if (stride == 1 && !padBottomRightOnly && kh == kw && padding <= kh - 1) {
                fwd.conv2d(dY, wf, null, 1, kh - 1 - padding, false, dX);
                return;
            }
            try (Tensor g = Tensor.host(n, h + kh - 1, wd + kw - 1, co)) {
                spread(dY, stride, top - kh + 1, top - kw + 1, g);
                fwd.conv2d(g, wf, null, 1, 0, false, dX);
            }
        }
    }

    /**
     * dW [kh, kw, Ci, Co] += Pᵀ · dY and dBias += Σ_rows dY over the M = N·Ho·Wo output pixels, where row m of P
     * [M, kh·kw·Ci] is the input patch output pixel m reads (zero outside the image): the GEMM of
     * {@link Gemm#accumulateWeight} with P's rows gathered from x as its blocks need them (an implicit im2col; nothing
     * of P's size is stored). k = (ky, kx, ci) runs in the order of dW's rows, so dW is the GEMM's [K, Co] as is.
     */
    static void backwardWeight(Tensor x, Tensor dY, int stride, int padding, boolean padBottomRightOnly, Tensor dW,
                               Tensor dBias, boolean vector) {
        String op = "conv2dBackwardWeight";
        Check.rank(op, "x", x, 4);
        Check.rank(op, "dY", dY, 4);
        Check.rank(op, "dW", dW, 4);
        int n = x.dim(0), h = x.dim(1), wd = x.dim(2), ci = x.dim(3);
        int kh = dW.dim(0), kw = dW.dim(1), co = dW.dim(3);
        Check.that(dW.dim(2) == ci, op + ": dW [kh, kw, Ci, Co] has Ci " + dW.dim(2) + " but x has " + ci + " channels");
        Check.that(stride >= 1, op + ": stride must be >= 1, got " + stride);
        Check.that(padding >= 0, op + ": padding must be >= 0, got " + padding);
        Check.that(!padBottomRightOnly || padding == 0, op + ": padBottomRightOnly needs padding 0, got " + padding);
        int top = padBottomRightOnly ? 0 : padding;
        int hp = h + (padBottomRightOnly ? 1 : 2 * padding), wp = wd + (padBottomRightOnly ? 1 : 2 * padding);
        Check.that(hp >= kh && wp >= kw, op + ": kernel " + kh + "x" + kw + " larger than padded input " + hp + "x" + wp);
        int ho = (hp - kh) / stride + 1, wo = (wp - kw) / stride + 1;
        Check.shape(op, "dY", dY, n, ho, wo, co);
        if (dBias != null) Check.shape(op, "dBias", dBias, co);
        Check.that(!Check.sameBytes(dW, x) && !Check.sameBytes(dW, dY), op + ": dW must not alias x or dY");
        if (co == 0) return;
        int m = CpuGradSupport.rows(dY.size(), co, op);
        if (m == 0) return;
        if (dBias != null) CpuMatmulGrad.biasGrad(vector, dY.segment(), m, co, dBias.segment());
        int k = Math.multiplyExact(kh * kw, ci);
        if (k == 0) return;
        MemorySegment xs = x.segment();
        Gemm.accumulateWeight(vector, (m0, rows, xb, kp) -> {
            // row m = (img, oy, ox): decoded once, then stepped along the output row
            int ox = m0 % wo, r = m0 / wo, oy = r % ho, img = r / ho;
            for (int i = 0; i < rows; i++) {
                int y0 = oy * stride - top, x0 = ox * stride - top, dst = i * kp;
                for (int ky = 0; ky < kh; ky++) {
                    int iy = y0 + ky;
                    boolean rowIn = iy >= 0 && iy < h;
                    long src = (((long) img * h + iy) * wd + x0) * ci;
                    for (int kx = 0; kx < kw; kx++, dst += ci, src += ci) {
                        int ix = x0 + kx;
                        if (rowIn && ix >= 0 && ix < wd) MemorySegment.copy(xs, Floats.F, src << 2, xb, dst, ci);
                        else Arrays.fill(xb, dst, dst + ci, 0f);
                    }
                }
                if (++ox == wo) {
                    ox = 0;
                    if (++oy == ho) { oy = 0; img++; }
                }
            }
        }, dY.segment(), dW.segment(), m, k, co);
    }

    /** wf[ey, ex, co, ci] = w[kh−1−ey, kw−1−ex, ci, co]: one [Ci, Co] transpose per tap. */
    private static void flip(Tensor w, Tensor wf) {
        int kh = w.dim(0), kw = w.dim(1), ci = w.dim(2), co = w.dim(3);
        long tap = (long) ci * co;
        MemorySegment ws = w.segment(), fs = wf.segment();
        for (int ey = 0; ey < kh; ey++)
            for (int ex = 0; ex < kw; ex++) {
                long src = ((long) (kh - 1 - ey) * kw + (kw - 1 - ex)) * tap, dst = ((long) ey * kw + ex) * tap;
                CpuGradSupport.transpose(ws, src, co, ci, co, fs, dst, ci);
            }
    }

    /** g[n, t, u, :] = dY[n, (t + oy) / s, (u + ox) / s, :] where t + oy, u + ox are non-negative multiples of s in range. */
    private static void spread(Tensor dY, int s, int oy, int ox, Tensor g) {
        int n = g.dim(0), gh = g.dim(1), gw = g.dim(2), c = g.dim(3), ho = dY.dim(1), wo = dY.dim(2);
        MemorySegment ys = dY.segment(), gs = g.segment();
        long pixBytes = (long) c * 4;
        Parallel.forRange(n * gh, Math.max(1, 4096 / Math.max(1, gw * c)), (lo, hi) -> {
            for (int row = lo; row < hi; row++) {
                int img = row / gh, t = row - img * gh, sy = t + oy;
                long dst = (long) row * gw * pixBytes;
                MemorySegment line = gs.asSlice(dst, gw * pixBytes);
                line.fill((byte) 0);
                if (sy < 0 || sy % s != 0 || sy / s >= ho) continue;
                long srcRow = ((long) img * ho + sy / s) * wo;
                for (int u = 0; u < gw; u++) {
                    int sx = u + ox;
                    if (sx < 0 || sx % s != 0 || sx / s >= wo) continue;
                    MemorySegment.copy(ys, (srcRow + sx / s) * pixBytes, gs, dst + u * pixBytes, pixBytes);
                }
            }
        });
    }
}
