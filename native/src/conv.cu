// 2D convolution as an implicit GEMM in NHWC: out[M = N*Ho*Wo, Co] = A[M, K] * W[K, Co] with
// K = kh*kw*Ci, where row m of A is the receptive field of output pixel m, gathered on the fly (no im2col
// buffer). The weights [kh, kw, Ci, Co] are already W in row-major. Padding: padTop/padLeft shift the window;
// rows/columns outside the image read zero, which covers symmetric padding and bottom/right-only padding
// (padTop = padLeft = 0 with Ho, Wo computed for one extra row and column).
//
// Tiles: 64 output pixels x 64 output channels per block of 256 threads, 16 of K per step, 4x4 outputs per
// thread. Storage type T; fp32 accumulation. Epilogue: + bias[co] (or null), + residual[m, co] (or null; the
// fused residual add of a ResnetBlock: out = conv(x) + bias + shortcut, must not alias out).
#include "common.cuh"

namespace tav {

constexpr int CV_BM = 64, CV_BN = 64, CV_BK = 16, CV_THREADS = 256;

template <typename T>
__device__ __forceinline__ void conv_implicit_gemm(const T* __restrict__ x, const T* __restrict__ w,
                                                   const T* __restrict__ bias, const T* __restrict__ residual,
                                                   T* __restrict__ out, int N, int H,
                                                   int W, int Ci, int Ho, int Wo, int Co, int kh, int kw,
                                                   int stride, int padTop, int padLeft) {
    __shared__ float as[CV_BK][CV_BM + 4];
    __shared__ float bs[CV_BK][CV_BN];
    const long M = long(N) * Ho * Wo;
    const int K = kh * kw * Ci;
    const long m0 = long(blockIdx.x) * CV_BM;
    const int n0 = blockIdx.y * CV_BN;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;

    // The 4 A rows this thread loads stay fixed over K: decode their pixels once.
    int a_img[4], a_iy[4], a_ix[4];
    bool a_ok[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int e = threadIdx.x + i * CV_THREADS;
        long m = m0 + e / CV_BK;
        a_ok[i] = m < M;
        long mm = a_ok[i] ? m : 0;
        int ox = int(mm % Wo);
        long r = mm / Wo;
        int oy = int(r % Ho);
        a_img[i] = int(r / Ho);
        a_iy[i] = oy * stride - padTop;
        a_ix[i] = ox * stride - padLeft;
    }

    float acc[4][4] = {};
    for (int k0 = 0; k0 < K; k0 += CV_BK) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = threadIdx.x + i * CV_THREADS;
            int kl = e % CV_BK, ml = e / CV_BK;
            int k = k0 + kl;
            float val = 0.0f;
            if (a_ok[i] && k < K) {
                int ci = k % Ci, t = k / Ci;
                int kx = t % kw, ky = t / kw;
                int iy = a_iy[i] + ky, ix = a_ix[i] + kx;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                    val = ld(x, ((long(a_img[i]) * H + iy) * W + ix) * Ci + ci);
            }
            as[kl][ml] = val;
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = threadIdx.x + i * CV_THREADS;
            int nl = e % CV_BN, kl = e / CV_BN;
            int k = k0 + kl, co = n0 + nl;
            bs[kl][nl] = (k < K && co < Co) ? ld(w, long(k) * Co + co) : 0.0f;
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
            int co = n0 + tx * 4 + j;
            if (co < Co) {  // (acc + bias) + residual: the order of the unfused conv-then-add, one rounding
                float v = acc[i][j] + (bias ? ld(bias, co) : 0.0f);
                if (residual) v += ld(residual, m * Co + co);
                st(out, m * Co + co, v);
            }
        }
    }
}

}  // namespace tav

#define TAV_CONV(T, TN)                                                                                      \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        conv2d_##TN(const T* x, const T* w, const T* bias, const T* residual, T* out, int N, int H, int W, int Ci, \
                    int Ho, int Wo, int Co, int kh, int kw, int stride, int padTop, int padLeft) {           \
        tav::conv_implicit_gemm<T>(x, w, bias, residual, out, N, H, W, Ci, Ho, Wo, Co, kh, kw, stride, padTop, \
                                   padLeft);                                                                 \
    }                                                                                                        \
    TAV_EXPORT(conv2d_##TN)

TAV_CONV(float, f32)
TAV_CONV(f16, f16)
TAV_CONV(bf16, bf16)
