// 2D convolution and its input gradient on CUDA cores, as implicit GEMMs in NHWC (index maps in conv_gemm.cuh):
//   conv2d_*            out[M = N*Ho*Wo, Co] = A[M, K = kh*kw*Ci] * W[K, Co], A the receptive fields of x;
//   conv2d_bwd_input_*  dX[M = N*H*W, Ci] = A[M, K = kh*kw*Co] * B[K, Ci], A read from dY as a transposed
//                       convolution in place, B[(ky, kx, co), ci] = w[ky, kx, ci, co] (weights frozen).
// Padding: padTop/padLeft shift the window; rows/columns outside the image read zero, which covers symmetric
// padding and bottom/right-only padding (padTop = padLeft = 0 with Ho, Wo computed for one extra row and column).
//
// Tiles: 64 output rows x 64 output columns per block of 256 threads, 16 of K per step, 4x4 outputs per thread,
// one main loop for both (the maps differ only in the gather and in which way B is contiguous: the B tile is
// loaded with its contiguous direction fastest across threads). Storage type T; fp32 accumulation. Epilogue:
// + bias[co] (or null), + residual[m, co] (or null; the fused residual add of a ResnetBlock: out = conv(x) + bias
// + shortcut, must not alias out); the input gradient passes null for both.
#include "conv_gemm.cuh"

namespace tav {

constexpr int CV_BM = 64, CV_BN = 64, CV_BK = 16, CV_THREADS = 256;

template <typename T, typename Map>
__device__ __forceinline__ void conv_gemm_cc(const Map g, const T* __restrict__ a_src, const T* __restrict__ w,
                                             const T* __restrict__ bias, const T* __restrict__ residual,
                                             T* __restrict__ out) {
    constexpr bool bk = Map::b_k_contiguous;
    __shared__ float as[CV_BK][CV_BM + 4];
    __shared__ float bs[CV_BK][CV_BN + (bk ? 1 : 0)];  // k-fastest stores: the odd pitch spreads them over banks
    const long M = g.rows;
    const int K = g.depth, Nc = g.cols;
    const long m0 = long(blockIdx.x) * CV_BM;
    const int n0 = blockIdx.y * CV_BN;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;

    // The 4 A rows this thread loads stay fixed over K: decode them once.
    ConvRow a_row[4];
#pragma unroll
    for (int i = 0; i < 4; i++) a_row[i] = g.row(m0 + (threadIdx.x + i * CV_THREADS) / CV_BK);

    float acc[4][4] = {};
    for (int k0 = 0; k0 < K; k0 += CV_BK) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = threadIdx.x + i * CV_THREADS;
            int kl = e % CV_BK, ml = e / CV_BK;
            int k = k0 + kl;
            float val = 0.0f;
            if (k < K) {
                long idx = g.a_index(a_row[i], g.tap(k));
                if (idx >= 0) val = ld(a_src, idx);
            }
            as[kl][ml] = val;
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = threadIdx.x + i * CV_THREADS;
            int kl = bk ? e % CV_BK : e / CV_BN, nl = bk ? e / CV_BK : e % CV_BN;
            int k = k0 + kl, n = n0 + nl;
            bs[kl][nl] = (k < K && n < Nc) ? ld(w, g.b_index(k, n)) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < CV_BK; kk++) {
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
            int n = n0 + tx * 4 + j;
            if (n < Nc) {  // (acc + bias) + residual: the order of the unfused conv-then-add, one rounding
                float v = acc[i][j] + (bias ? ld(bias, n) : 0.0f);
                if (residual) v += ld(residual, m * Nc + n);
                st(out, m * Nc + n, v);
            }
        }
    }
}

}  // namespace tav

#define TAV_CONV(T, TN)                                                                                      \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        conv2d_##TN(const T* x, const T* w, const T* bias, const T* residual, T* out, int N, int H, int W, int Ci, \
                    int Ho, int Wo, int Co, int kh, int kw, int stride, int padTop, int padLeft) {           \
        tav::conv_gemm_cc<T>(tav::conv_fwd_map(N, H, W, Ci, Ho, Wo, Co, kh, kw, stride, padTop, padLeft), x, w, \
                             bias, residual, out);                                                           \
    }                                                                                                        \
    TAV_EXPORT(conv2d_##TN)                                                                                  \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        conv2d_bwd_input_##TN(const T* dy, const T* w, T* dx, int N, int H, int W, int Ci, int Ho, int Wo,   \
                              int Co, int kh, int kw, int stride, int padTop, int padLeft) {                 \
        tav::conv_gemm_cc<T>(tav::conv_dgrad_map(N, H, W, Ci, Ho, Wo, Co, kh, kw, stride, padTop, padLeft), dy, \
                             w, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr), dx);         \
    }                                                                                                        \
    TAV_EXPORT(conv2d_bwd_input_##TN)

TAV_CONV(float, f32)
TAV_CONV(f16, f16)
TAV_CONV(bf16, bf16)
