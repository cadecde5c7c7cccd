// Gradients of trainable parameters other than Linear's (those are GEMMs): conv2d weights and bias, GroupNorm and
// LayerNorm affine. Inputs (x, dy, gamma, beta) have the storage type T; every sum is fp32 within a block and the
// partial sums go to an fp32 scratch that a second kernel adds in a fixed order (no atomics, so results are
// reproducible) onto the gradients, which ACCUMULATE and have their own type G (fp32 master gradients of a
// half-precision run, or T).
//
//   conv2d_bwd_weight_T   dW[K = kh*kw*Ci, Co] = P^T dY over the M = N*Ho*Wo output pixels, P[m, (ky, kx, ci)] the
//                         input patch of pixel m (zero outside the image; the forward's index map, conv_gemm.cuh).
//                         Grid (ceil(K/64) * S, ceil(Co/64)): block (k tile, split s) sums the m of chunk s,
//                         64 x 64 outputs per block of 256 threads, 4 x 4 per thread, 16 m per step staged in shared
//                         memory (P rows k-fastest and dY rows co-fastest: both coalesced in NHWC), into
//                         part[s][K][Co]; sum_partials_G then adds the S partials of each element in order.
//   channel_grad_partial_T  per channel c, over rows [split s]: sum dz and dz x^ (the latter only with stats), where
//                         x^ = (x - mean) rstd from stats[vg] (vg = (row / rowsPerStat) * G + c / (C / G): GroupNorm's
//                         (video, group), or LayerNorm's row with G = 1, rowsPerStat = 1) and dz = dy, through the
//                         SiLU after the affine when silu_on (z = gamma x^ + beta). Grid (ceil(C/32), S), block of
//                         32 channels x 8 rows -> part[s][C][2]. Without stats it sums dy only (a bias gradient).
//   channel_grad_finalize_G  one thread per channel: the S partials in order, in double, added to dGamma (sum dz x^)
//                         and dBeta (sum dz); either may be null.
//   layernorm_stats_T     (mean, rstd) per row, one warp per row, as layernorm_bwd_T forms them.
#include "conv_gemm.cuh"

namespace tavp {

using tav::ld;
using tav::st;

constexpr int WG_BM = 64, WG_BN = 64, WG_BK = 16, WG_THREADS = 256;
constexpr int CG_ROWS = 8;  // rows a channel_grad_partial block walks at once (8 warps of 32 channels)

template <typename T>
__device__ __forceinline__ void conv_wgrad(const T* __restrict__ x, const T* __restrict__ dy, float* __restrict__ part,
                                           int N, int H, int W, int Ci, int Ho, int Wo, int Co, int kh, int kw,
                                           int stride, int padTop, int padLeft, long chunk) {
    const tav::ConvFwdMap g = tav::conv_fwd_map(N, H, W, Ci, Ho, Wo, Co, kh, kw, stride, padTop, padLeft);
    __shared__ float ps[WG_BK][WG_BM];  // P tile: [m][k]
    __shared__ float ys[WG_BK][WG_BN];  // dY tile: [m][co]
    const long M = g.rows;
    const int K = g.depth;
    const int kTiles = (K + WG_BM - 1) / WG_BM;
    const int kt = blockIdx.x % kTiles, s = blockIdx.x / kTiles;
    const int k0 = kt * WG_BM, n0 = blockIdx.y * WG_BN;
    const long mBegin = long(s) * chunk, mEnd = min(M, mBegin + chunk);
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    // loads: column l = threadIdx.x % 64 (k or co, coalesced), rows threadIdx.x / 64 + 4 i
    const int l = threadIdx.x % WG_BM, r0 = threadIdx.x / WG_BM;
    const int k = k0 + l, co = n0 + l;
    const bool kIn = k < K, coIn = co < Co;
    const tav::ConvTap tap = g.tap(kIn ? k : 0);  // fixed over the whole reduction

    float acc[4][4] = {};
    for (long m0 = mBegin; m0 < mEnd; m0 += WG_BK) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int ml = r0 + 4 * i;
            long m = m0 + ml;
            float pv = 0.0f, yv = 0.0f;
            if (m < mEnd) {
                if (kIn) {
                    long idx = g.a_index(g.row(m), tap);
                    if (idx >= 0) pv = ld(x, idx);
                }
                if (coIn) yv = ld(dy, m * Co + co);
            }
            ps[ml][l] = pv;
            ys[ml][l] = yv;
        }
        __syncthreads();
#pragma unroll
        for (int mm = 0; mm < WG_BK; mm++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) { a[i] = ps[mm][ty * 4 + i]; b[i] = ys[mm][tx * 4 + i]; }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
    float* out = part + long(s) * K * Co;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int kk = k0 + ty * 4 + i;
        if (kk >= K) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx * 4 + j;
            if (n < Co) out[long(kk) * Co + n] = acc[i][j];
        }
    }
}

// out[e] += sum_s part[s * n + e], s in order, in double.
template <typename G>
__device__ __forceinline__ void sum_partials(const float* __restrict__ part, G* __restrict__ out, long n, int S) {
    for (long e = tav::global_thread(); e < n; e += tav::grid_threads()) {
        double a = 0.0;
        for (int s = 0; s < S; s++) a += part[long(s) * n + e];
        st(out, e, float(double(ld(out, e)) + a));
    }
}

template <typename T>
__device__ __forceinline__ void channel_partial(const T* __restrict__ x, const T* __restrict__ dy,
                                                const float* __restrict__ stats, const T* __restrict__ gamma,
                                                const T* __restrict__ beta, float* __restrict__ part, long rows, int C,
                                                int G, long rowsPerStat, int silu_on, long chunk) {
    __shared__ float sh[2][CG_ROWS][32];
    const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
    const int c = blockIdx.x * 32 + lane, s = blockIdx.y;
    const long rBegin = long(s) * chunk, rEnd = min(rows, rBegin + chunk);
    float s1 = 0.0f, s2 = 0.0f;
    if (c < C) {
        const int cg = C / G, gc = c / cg;
        const float ga = silu_on ? ld(gamma, c) : 0.0f, be = silu_on ? ld(beta, c) : 0.0f;
        for (long r = rBegin + w; r < rEnd; r += CG_ROWS) {
            long i = r * C + c;
            float dz = ld(dy, i);
            if (stats) {
                long vg = (r / rowsPerStat) * G + gc;
                float xh = (ld(x, i) - stats[vg * 2]) * stats[vg * 2 + 1];
                if (silu_on) {
                    float z = xh * ga + be;
                    float sg = 1.0f / (1.0f + expf(-z));
                    dz *= sg * (1.0f + z * (1.0f - sg));
                }
                s2 += dz * xh;
            }
            s1 += dz;
        }
    }
    sh[0][w][lane] = s1;
    sh[1][w][lane] = s2;
    __syncthreads();
    if (w == 0 && c < C) {
        float a = 0.0f, b = 0.0f;
        for (int j = 0; j < CG_ROWS; j++) {
            a += sh[0][j][lane];
            b += sh[1][j][lane];
        }
        part[(long(s) * C + c) * 2] = a;
        part[(long(s) * C + c) * 2 + 1] = b;
    }
}

// dBeta[c] += sum_s part[s][c][0], dGamma[c] += sum_s part[s][c][1] (s in order, in double); either may be null.
template <typename G>
__device__ __forceinline__ void channel_finalize(const float* __restrict__ part, G* __restrict__ dGamma,
                                                 G* __restrict__ dBeta, int C, int S) {
    int c = int(tav::global_thread());
    if (c >= C) return;
    double a = 0.0, b = 0.0;
    for (int s = 0; s < S; s++) {
        a += part[(long(s) * C + c) * 2];
        b += part[(long(s) * C + c) * 2 + 1];
    }
    if (dBeta) st(dBeta, c, float(double(ld(dBeta, c)) + a));
    if (dGamma) st(dGamma, c, float(double(ld(dGamma, c)) + b));
}

// (mean, rstd) of each row: one warp per row (blocks of 4 warps), the arithmetic of layernorm_bwd_T.
template <typename T>
__device__ __forceinline__ void ln_stats(const T* __restrict__ x, float* __restrict__ stats, long rows, int C, float eps) {
    long row = long(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;  // whole warps leave together
    const T* xr = x + row * C;
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += ld(xr, c);
    float mean = tav::warp_sum(s) / C;
    float q = 0.0f;
    for (int c = lane; c < C; c += 32) { float d = ld(xr, c) - mean; q += d * d; }
    float rstd = rsqrtf(tav::warp_sum(q) / C + eps);
    if (lane == 0) {
        stats[row * 2] = mean;
        stats[row * 2 + 1] = rstd;
    }
}

}  // namespace tavp

#define TAV_PARAM_GRAD(T, TN)                                                                                \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        conv2d_bwd_weight_##TN(const T* x, const T* dy, float* part, int N, int H, int W, int Ci, int Ho,     \
                               int Wo, int Co, int kh, int kw, int stride, int padTop, int padLeft,          \
                               long chunk) {                                                                 \
        tavp::conv_wgrad<T>(x, dy, part, N, H, W, Ci, Ho, Wo, Co, kh, kw, stride, padTop, padLeft, chunk);   \
    }                                                                                                        \
    TAV_EXPORT(conv2d_bwd_weight_##TN)                                                                       \
    extern "C" __global__ void sum_partials_##TN(const float* part, T* out, long n, int S) {                 \
        tavp::sum_partials<T>(part, out, n, S);                                                              \
    }                                                                                                        \
    TAV_EXPORT(sum_partials_##TN)                                                                            \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        channel_grad_partial_##TN(const T* x, const T* dy, const float* stats, const T* gamma, const T* beta, \
                                  float* part, long rows, int C, int G, long rowsPerStat, int silu_on,       \
                                  long chunk) {                                                              \
        tavp::channel_partial<T>(x, dy, stats, gamma, beta, part, rows, C, G, rowsPerStat, silu_on, chunk);  \
    }                                                                                                        \
    TAV_EXPORT(channel_grad_partial_##TN)                                                                    \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        channel_grad_finalize_##TN(const float* part, T* dGamma, T* dBeta, int C, int S) {                   \
        tavp::channel_finalize<T>(part, dGamma, dBeta, C, S);                                                \
    }                                                                                                        \
    TAV_EXPORT(channel_grad_finalize_##TN)                                                                   \
    extern "C" __global__ void __launch_bounds__(128)                                                       \
        layernorm_stats_##TN(const T* x, float* stats, long rows, int C, float eps) {                         \
        tavp::ln_stats<T>(x, stats, rows, C, eps);                                                           \
    }                                                                                                        \
    TAV_EXPORT(layernorm_stats_##TN)

TAV_PARAM_GRAD(float, f32)
TAV_PARAM_GRAD(f16, f16)
TAV_PARAM_GRAD(bf16, bf16)
