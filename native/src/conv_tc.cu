// 2D convolution on tensor cores (WMMA m16n16k16, half/bf16 inputs, fp32 accumulation): the implicit GEMM of
// conv.cu, out[M = N*Ho*Wo, Co] = A[M, K] * W[K, Co], K = kh*kw*Ci, A gathered from the NHWC input on the fly.
// Same arguments, layout and padding rules as conv2d_* (see conv.cu); any kernel size, stride and padding.
//
// Covered shapes (the dispatcher checks, else conv2d_* runs): Ci % 8 == 0 and Co % 8 == 0 and 16-byte aligned
// tensors, so every global access is a 16-byte chunk of 8 channels (K = kh*kw*Ci is then a multiple of 8 too,
// and a chunk never straddles two kernel taps). In SD 1.5 that is every UNet and VAE conv except the UNet's
// conv_in (Ci 4) / conv_out (Co 4) and the VAE's conv_in (Ci 3) / conv_out (Co 3).
//
// Tiles: 128 output pixels x 64 output channels per block of 4 warps (2 x 2), each warp 64 x 32 = 4 x 2 WMMA
// accumulators; K in steps of 32 staged in shared memory as T, double-buffered: the next step's global loads
// go to registers while the tensor cores work on the current one (plain loads, no cp.async, so the host
// emulation runs the same code). Epilogue: each accumulator goes through a per-warp 16x16 fp32 patch in shared
// memory, gets the bias and the residual (a 16-byte chunk of T; null for none; never aliasing out) added in
// the order of the unfused conv-then-add, and is written as 16-byte chunks of T.
#include "tc.cuh"

namespace tav {

constexpr int TCV_BM = 128, TCV_BN = 64, TCV_BK = 32, TCV_THREADS = 128;
constexpr int TCV_LDA = TCV_BK + 8;  // row pitch of the A tile in T (80 bytes: staggers banks; a multiple of 8)
constexpr int TCV_LDB = TCV_BN + 8;  // row pitch of the B tile in T
constexpr int TCV_LDC = 16 + 4;      // row pitch of the epilogue patch in floats

template <typename T>
__device__ __forceinline__ void conv_tc(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ bias,
                                        const T* __restrict__ residual, T* __restrict__ out, int N, int H, int W, int Ci, int Ho, int Wo, int Co,
                                        int kh, int kw, int stride, int padTop, int padLeft) {
    __shared__ __align__(32) T as[2][TCV_BM * TCV_LDA];
    __shared__ __align__(32) T bs[2][TCV_BK * TCV_LDB];
    __shared__ __align__(32) float cs[TCV_THREADS / 32][16 * TCV_LDC];
    const long M = long(N) * Ho * Wo;
    const int K = kh * kw * Ci;
    const long m0 = long(blockIdx.x) * TCV_BM;
    const int n0 = blockIdx.y * TCV_BN;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp >> 1, wn = warp & 1;

    // A: 128 rows x 4 chunks of 8 per K step; this thread loads chunk a_kc of rows (tid >> 2) + 32 i. The rows'
    // output pixels stay fixed over K: decode them once.
    const int a_kc = tid & 3;
    int a_img[4], a_iy[4], a_ix[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        long m = m0 + (tid >> 2) + 32 * i;
        long mm = m < M ? m : 0;
        int ox = int(mm % Wo);
        long r = mm / Wo;
        a_iy[i] = int(r % Ho) * stride - padTop;
        a_ix[i] = ox * stride - padLeft;
        a_img[i] = m < M ? int(r / Ho) : -1;
    }
    // B: 32 rows x 8 chunks per K step; this thread loads chunk (tid & 7) of rows (tid >> 3) + 16 i.
    const int b_co = n0 + (tid & 7) * 8;

    uint4 ra[4], rb[2];
    const uint4 zero{0u, 0u, 0u, 0u};
    auto fetch = [&](int k0) {
        int k = k0 + a_kc * 8;
        int ci = 0, ky = 0, kx = 0;
        if (k < K) {
            ci = k % Ci;
            int t = k / Ci;
            kx = t % kw;
            ky = t / kw;
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int iy = a_iy[i] + ky, ix = a_ix[i] + kx;
            bool ok = k < K && a_img[i] >= 0 && iy >= 0 && iy < H && ix >= 0 && ix < W;
            ra[i] = ok ? ld16(x + ((long(a_img[i]) * H + iy) * W + ix) * Ci + ci) : zero;
        }
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int kr = k0 + (tid >> 3) + 16 * i;
            rb[i] = (kr < K && b_co < Co) ? ld16(w + long(kr) * Co + b_co) : zero;
        }
    };
    auto stash = [&](int buf) {
#pragma unroll
        for (int i = 0; i < 4; i++) st16(&as[buf][((tid >> 2) + 32 * i) * TCV_LDA + a_kc * 8], ra[i]);
#pragma unroll
        for (int i = 0; i < 2; i++) st16(&bs[buf][((tid >> 3) + 16 * i) * TCV_LDB + (tid & 7) * 8], rb[i]);
    };

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);

    const int steps = (K + TCV_BK - 1) / TCV_BK;
    fetch(0);
    stash(0);
    __syncthreads();
    for (int s = 0; s < steps; s++) {
        const int cur = s & 1;
        if (s + 1 < steps) fetch((s + 1) * TCV_BK);  // global -> registers, in flight during the MMAs
#pragma unroll
        for (int kk = 0; kk < TCV_BK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa[4];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fb[2];
#pragma unroll
            for (int i = 0; i < 4; i++) wmma::load_matrix_sync(fa[i], &as[cur][(wm * 64 + i * 16) * TCV_LDA + kk], TCV_LDA);
#pragma unroll
            for (int j = 0; j < 2; j++) wmma::load_matrix_sync(fb[j], &bs[cur][kk * TCV_LDB + wn * 32 + j * 16], TCV_LDB);
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
        if (s + 1 < steps) stash(cur ^ 1);  // the other buffer: last read before the previous barrier
        __syncthreads();
    }

    // Epilogue: lane -> row lane / 2 of the patch, 8 channels from (lane & 1) * 8.
    float* patch = cs[warp];
    const int pr = lane >> 1, pc = (lane & 1) * 8;
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 2; j++) {
            wmma::store_matrix_sync(patch, acc[i][j], TCV_LDC, wmma::mem_row_major);
            __syncwarp();
            long m = m0 + wm * 64 + i * 16 + pr;
            int co = n0 + wn * 32 + j * 16 + pc;
            if (m < M && co < Co) {  // Co % 8 == 0: the whole chunk is inside
                float v[8];
#pragma unroll
                for (int e = 0; e < 8; e++) v[e] = patch[pr * TCV_LDC + pc + e] + (bias ? ld(bias, co + e) : 0.0f);
                if (residual) {
                    float r[8];
                    load8f<T>(residual + m * Co + co, r);
#pragma unroll
                    for (int e = 0; e < 8; e++) v[e] += r[e];
                }
                st16(out + m * Co + co, pack8<T>(v));
            }
            __syncwarp();  // the patch is rewritten by the next accumulator
        }
    }
}

}  // namespace tav

#define TAV_CONV_TC(T, TN)                                                                                   \
    extern "C" __global__ void __launch_bounds__(128)                                                       \
        conv2d_tc_##TN(const T* x, const T* w, const T* bias, const T* residual, T* out, int N, int H, int W, \
                       int Ci, int Ho, int Wo, int Co, int kh, int kw, int stride, int padTop, int padLeft) {  \
        tav::conv_tc<T>(x, w, bias, residual, out, N, H, W, Ci, Ho, Wo, Co, kh, kw, stride, padTop, padLeft); \
    }                                                                                                        \
    TAV_EXPORT(conv2d_tc_##TN)

TAV_CONV_TC(f16, f16)
TAV_CONV_TC(bf16, bf16)
