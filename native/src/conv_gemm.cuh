// The index maps of the two convolution GEMMs, shared by the CUDA-core main loop (conv.cu) and the tensor-core
// one (conv_tc.cu), so each loop serves both the forward conv and its input gradient. NHWC tensors, weights
// [kh, kw, Ci, Co]. Both are out[M, Nc] = A[M, K] * B[K, Nc] with A gathered on the fly (no im2col buffer):
//
//   forward          out = y [N*Ho*Wo, Co], k = (ky, kx, ci): A = x[n, oy*s - padTop + ky, ox*s - padLeft + kx, ci]
//                    (zero outside the image), B = w[k, co] (row-major: n contiguous).
//   input gradient   out = dX [N*H*W, Ci], k = (ky, kx, co): A = dY[n, oy, ox, co] with oy = (iy + padTop - ky) / s,
//                    ox likewise, when the division is exact and in range (else zero): the transposed convolution
//                    read in place; B[k, ci] = w[ky, kx, ci, co] (k contiguous: nothing is flipped or copied).
//
// A map turns an output row m into a Row once, a K index k into a Tap once per K step, and (Row, Tap) into the
// element index of A's source or -1 for a zero; b_index(k, n) is B's element index. The gathered channel index c
// is fastest in k, so 8 consecutive k (c % 8 == 0, C % 8 == 0) are one 16-byte chunk within one tap.
#pragma once
#include "common.cuh"

namespace tav {

struct ConvRow { int img, y, x; };  // img -1: a row past M (reads zero)
struct ConvTap { int c, ky, kx; };

struct ConvFwdMap {
    long rows;       // M = N*Ho*Wo
    int depth, cols; // K = kh*kw*Ci, Nc = Co
    int H, W, Ci, Ho, Wo, kw, stride, padTop, padLeft;
    static constexpr bool b_k_contiguous = false;

    __device__ __forceinline__ ConvRow row(long m) const {
        long mm = m < rows ? m : 0;
        int ox = int(mm % Wo);
        long r = mm / Wo;
        return ConvRow{m < rows ? int(r / Ho) : -1, int(r % Ho) * stride - padTop, ox * stride - padLeft};
    }
    __device__ __forceinline__ ConvTap tap(int k) const {
        int t = k / Ci;
        return ConvTap{k % Ci, t / kw, t % kw};
    }
    __device__ __forceinline__ long a_index(ConvRow r, ConvTap t) const {
        int iy = r.y + t.ky, ix = r.x + t.kx;
        return r.img >= 0 && iy >= 0 && iy < H && ix >= 0 && ix < W ? ((long(r.img) * H + iy) * W + ix) * Ci + t.c : -1;
    }
    __device__ __forceinline__ long b_index(int k, int n) const { return long(k) * cols + n; }
};

struct ConvDgradMap {
    long rows;       // M = N*H*W
    int depth, cols; // K = kh*kw*Co, Nc = Ci
    int H, W, Co, Ho, Wo, kw, stride, padTop, padLeft;
    static constexpr bool b_k_contiguous = true;

    __device__ __forceinline__ ConvRow row(long m) const {
        long mm = m < rows ? m : 0;
        int ix = int(mm % W);
        long r = mm / W;
        return ConvRow{m < rows ? int(r / H) : -1, int(r % H) + padTop, ix + padLeft};
    }
    __device__ __forceinline__ ConvTap tap(int k) const {
        int t = k / Co;
        return ConvTap{k % Co, t / kw, t % kw};
    }
    __device__ __forceinline__ long a_index(ConvRow r, ConvTap t) const {
        int sy = r.y - t.ky, sx = r.x - t.kx;
        if (r.img < 0 || sy < 0 || sx < 0 || sy % stride != 0 || sx % stride != 0) return -1;
        int oy = sy / stride, ox = sx / stride;
        return oy < Ho && ox < Wo ? ((long(r.img) * Ho + oy) * Wo + ox) * Co + t.c : -1;
    }
    __device__ __forceinline__ long b_index(int k, int n) const { return (long(k / Co) * cols + n) * Co + k % Co; }
};

// The maps of conv2d_* / conv2d_tc_* and conv2d_bwd_input_* / conv2d_bwd_input_tc_* from their kernel arguments.
__device__ __forceinline__ ConvFwdMap conv_fwd_map(int N, int H, int W, int Ci, int Ho, int Wo, int Co, int kh, int kw,
                                                   int stride, int padTop, int padLeft) {
    return ConvFwdMap{long(N) * Ho * Wo, kh * kw * Ci, Co, H, W, Ci, Ho, Wo, kw, stride, padTop, padLeft};
}
__device__ __forceinline__ ConvDgradMap conv_dgrad_map(int N, int H, int W, int Ci, int Ho, int Wo, int Co, int kh, int kw,
                                                       int stride, int padTop, int padLeft) {
    return ConvDgradMap{long(N) * H * W, kh * kw * Co, Ci, H, W, Co, Ho, Wo, kw, stride, padTop, padLeft};
}

}  // namespace tav
