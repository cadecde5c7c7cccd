// Gradient of conv2d w.r.t. its input (weights frozen) as an implicit GEMM, i.e. a transposed convolution,
// templated on the storage type T of dY, w and dX (fp32 accumulation), NHWC: dX[M = N*H*W, Ci] = A[M, K] * B[K, Ci] with K = kh*kw*Co, where for input pixel (n, iy, ix) and
// k = (ky, kx, co): A = dY[n, oy, ox, co] with oy = (iy + padTop - ky) / stride, ox likewise, when the division
// is exact and in range (else 0), and B = w[ky, kx, ci, co]. Nothing is flipped or spread in memory.
// Tiles as conv.cu: 64 input pixels x 64 input channels per block of 256 threads, 16 of K per step, 4x4 per
// thread. Both tiles are loaded with K fastest across threads (co is contiguous in dY and in w).
#include "common.cuh"

namespace tavg {

constexpr int CB_BM = 64, CB_BN = 64, CB_BK = 16, CB_THREADS = 256;

template <typename T>
__device__ __forceinline__ void conv_bwd_input(const T* __restrict__ dy, const T* __restrict__ w,
                                               T* __restrict__ dx, int N, int H, int W, int Ci, int Ho, int Wo,
                                               int Co, int kh, int kw, int stride, int padTop, int padLeft) {
    __shared__ float as[CB_BK][CB_BM + 4];
    __shared__ float bs[CB_BK][CB_BN + 1];
    const long M = long(N) * H * W;
    const int K = kh * kw * Co;
    const long m0 = long(blockIdx.x) * CB_BM;
    const int n0 = blockIdx.y * CB_BN;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;

    // The 4 A rows (input pixels) this thread loads stay fixed over K.
    int a_img[4], a_ty[4], a_tx[4];
    bool a_ok[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int e = threadIdx.x + i * CB_THREADS;
        long m = m0 + e / CB_BK;
        a_ok[i] = m < M;
        long mm = a_ok[i] ? m : 0;
        int ix = int(mm % W);
        long r = mm / W;
        int iy = int(r % H);
        a_img[i] = int(r / H);
        a_ty[i] = iy + padTop;
        a_tx[i] = ix + padLeft;
    }

    float acc[4][4] = {};
    for (int k0 = 0; k0 < K; k0 += CB_BK) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = threadIdx.x + i * CB_THREADS;
            int kl = e % CB_BK, ml = e / CB_BK;
            int k = k0 + kl;
            float val = 0.0f;
            if (a_ok[i] && k < K) {
                int co = k % Co, tap = k / Co;
                int kx = tap % kw, ky = tap / kw;
                int sy = a_ty[i] - ky, sx = a_tx[i] - kx;
                if (sy >= 0 && sx >= 0 && sy % stride == 0 && sx % stride == 0) {
                    int oy = sy / stride, ox = sx / stride;
                    if (oy < Ho && ox < Wo) val = tav::ld(dy, ((long(a_img[i]) * Ho + oy) * Wo + ox) * Co + co);
                }
            }
            as[kl][ml] = val;
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = threadIdx.x + i * CB_THREADS;
            int kl = e % CB_BK, nl = e / CB_BK;
            int k = k0 + kl, ci = n0 + nl;
            float val = 0.0f;
            if (k < K && ci < Ci) {
                int co = k % Co, tap = k / Co;
                val = tav::ld(w, (long(tap) * Ci + ci) * Co + co);
            }
            bs[kl][nl] = val;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < CB_BK; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) { a[i] = as[kk][ty * 4 + i]; b[i] = bs[kk][tx * 4 + i]; }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        long m = m0 + ty * 4 + i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int ci = n0 + tx * 4 + j;
            if (ci < Ci) tav::st(dx, m * Ci + ci, acc[i][j]);
        }
    }
}

}  // namespace tavg

#define TAV_CONV_GRAD(T, TN)                                                                                 \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        conv2d_bwd_input_##TN(const T* dy, const T* w, T* dx, int N, int H, int W, int Ci, int Ho, int Wo,   \
                              int Co, int kh, int kw, int stride, int padTop, int padLeft) {                 \
        tavg::conv_bwd_input<T>(dy, w, dx, N, H, W, Ci, Ho, Wo, Co, kh, kw, stride, padTop, padLeft);        \
    }                                                                                                        \
    TAV_EXPORT(conv2d_bwd_input_##TN)

TAV_CONV_GRAD(float, f32)
TAV_CONV_GRAD(f16, f16)
TAV_CONV_GRAD(bf16, bf16)
