package dev.tav4j.kernels.cuda;

import static dev.tav4j.kernels.cuda.CudaLaunch.ptr;
import static dev.tav4j.kernels.cuda.CudaLaunch.ptrOrNull;
import static dev.tav4j.kernels.cuda.CudaLaunch.sameType;

import dev.tav4j.runtime.Fusion;
import dev.tav4j.runtime.Tensor;

import java.util.Arrays;

/**
 * matmul (cuBLAS, bias and residual preloaded into the output) and conv2d (NHWC implicit GEMM: the tensor-core
 * kernel of conv_tc.cu for BF16/F16 where {@link TensorCoreKernels} covers the shape, else conv.cu), both with
 * the residual add fused. The unfused sequence for A/B runs is {@link CudaOps}' business.
 */
final class CudaLinear {
    private final CudaLaunch l;

    CudaLinear(CudaLaunch launch) {
        this.l = launch;
    }

    /**
     * C preloaded with bias (+ residual) in one pass, then the GEMM accumulates with beta = 1: with a residual
     * that is 2 passes over out (bias/residual pass: read residual, write out; GEMM: read and write out) instead
     * of 3 (fill, GEMM, then an axpby reading two tensors and writing one), one launch fewer, and in place
     * (residual == out, no bias) the GEMM alone. Rounding: a·w + (bias + residual) instead of (a·w + bias) +
     * residual; F32 results differ from the unfused sequence by float rounding of that order.
     */
    void matmul(Tensor a, Tensor w, Tensor bias, Tensor residual, Tensor out) {
        if (w.rank() != 2) throw new IllegalArgumentException("matmul: w must be [K, N], got " + Arrays.toString(w.shape()));
        int kk = w.dim(0), n = w.dim(1);
        if (a.dim(-1) != kk) throw new IllegalArgumentException("matmul: a " + Arrays.toString(a.shape()) + " does not end in K = " + kk);
        long m = a.size() / Math.max(kk, 1);
        int[] want = a.shape();
        want[want.length - 1] = n;
        out.requireShape("matmul: out", want);
        sameType("matmul", a, w, out);
        if (bias != null) {
            sameType("matmul", a, bias);
            bias.requireShape("matmul: bias", n);
        }
        float beta = 0f;
        CudaKernels.Typed k = l.kernels.of(out.dtype());
        if (residual != null) {
            residual.requireShape("matmul: residual", want);
            sameType("matmul", a, residual);
            boolean inPlace = Fusion.requireResidual("matmul", residual, out, true);
            if (bias != null || !inPlace)
                l.elementwise(k.fillRowsResidual, m * n, l.args.reset().ptr(ptrOrNull(bias)).ptr(ptr(residual)).ptr(ptr(out)).i64(m).i32(n));
            beta = 1f;
        } else if (bias != null) {
            l.elementwise(k.fillRows, m * n, l.args.reset().ptr(ptr(bias)).ptr(ptr(out)).i64(m).i32(n));
            beta = 1f;
        }
        l.gemm(a.dtype(), Math.toIntExact(m), n, kk, ptr(a), ptr(w), beta, ptr(out));
    }

    /** The residual is added in the conv kernels' epilogue (after the bias, as the unfused sequence): no extra pass. */
    void conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly, Tensor residual, Tensor out) {
        if (x.rank() != 4) throw new IllegalArgumentException("conv2d: x must be [N, H, W, Ci], got " + Arrays.toString(x.shape()));
        if (w.rank() != 4) throw new IllegalArgumentException("conv2d: w must be [kh, kw, Ci, Co], got " + Arrays.toString(w.shape()));
        if (stride < 1 || padding < 0) throw new IllegalArgumentException("conv2d: stride " + stride + ", padding " + padding);
        int n = x.dim(0), h = x.dim(1), wd = x.dim(2), ci = x.dim(3);
        int kh = w.dim(0), kw = w.dim(1), co = w.dim(3);
        if (w.dim(2) != ci) throw new IllegalArgumentException("conv2d: w " + Arrays.toString(w.shape()) + " expects " + w.dim(2) + " input channels, x has " + ci);
        if (padBottomRightOnly && padding != 0)
            throw new IllegalArgumentException("conv2d: padBottomRightOnly needs padding 0, got " + padding);
        int padTop = padBottomRightOnly ? 0 : padding;
        int extra = padBottomRightOnly ? 1 : 2 * padding;
        int ho = (h + extra - kh) / stride + 1, wo = (wd + extra - kw) / stride + 1;
        if (h + extra < kh || wd + extra < kw) throw new IllegalArgumentException("conv2d: kernel " + kh + "x" + kw + " larger than padded input " + Arrays.toString(x.shape()));
        out.requireShape("conv2d: out", n, ho, wo, co);
        if (bias != null) bias.requireShape("conv2d: bias", co);
        sameType("conv2d", x, w, out);
        if (bias != null) sameType("conv2d", x, bias);
        if (residual != null) {
            residual.requireShape("conv2d: residual", n, ho, wo, co);
            sameType("conv2d", x, residual);
            Fusion.requireResidual("conv2d", residual, out, false);
        }
        long m = (long) n * ho * wo;
        long b = ptrOrNull(bias), res = ptrOrNull(residual);
        l.args.reset().ptr(ptr(x)).ptr(ptr(w)).ptr(b).ptr(res).ptr(ptr(out))
                .i32(n).i32(h).i32(wd).i32(ci).i32(ho).i32(wo).i32(co).i32(kh).i32(kw).i32(stride).i32(padTop).i32(padTop);
        TensorCoreKernels.Launch tc = l.tensorCores == null || !l.tensorCores(TensorCoreFamily.CONV2D) ? null : l.tensorCores.conv2d(x.dtype(), m, ci, co, ptr(x), ptr(w), b, res, ptr(out));
        if (tc != null) l.grid(tc);
        else l.grid(l.kernels.of(x.dtype()).conv2d, Math.toIntExact((m + 63) / 64), (co + 63) / 64, 256, 0);
    }
}
