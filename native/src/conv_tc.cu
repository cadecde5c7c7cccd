// 2D convolution and its input gradient on tensor cores (WMMA m16n16k16, half/bf16 inputs, fp32 accumulation):
// the implicit GEMMs of conv.cu (index maps in conv_gemm.cuh) in one main loop,
//   conv2d_tc_*            out[M = N*Ho*Wo, Co] = A[M, K = kh*kw*Ci] * W[K, Co], A gathered from the NHWC input;
//   conv2d_bwd_input_tc_*  dX[M = N*H*W, Ci] = A[M, K = kh*kw*Co] * B[K, Ci], A gathered from dY as the
//                          transposed convolution, B[(tap, co), ci] = w[tap][ci][co] read in place.
// Same arguments, layout and padding rules as conv2d_* / conv2d_bwd_input_* (see conv.cu); any kernel size,
// stride and padding.
//
// Covered shapes (the dispatcher checks, else the CUDA-core kernel runs): Ci % 8 == 0 and Co % 8 == 0 and
// 16-byte aligned tensors, so every global access is a 16-byte chunk of 8 channels (K is then a multiple of 8
// too, and a chunk never straddles two kernel taps). In SD 1.5 that is every UNet and VAE conv except the UNet's
// conv_in (Ci 4) / conv_out (Co 4) and the VAE's conv_in (Ci 3) / conv_out (Co 3).
//
// Tiles: 128 output rows x 64 output columns per block of 4 warps (2 x 2), each warp 64 x 32 = 4 x 2 WMMA
// accumulators; K in steps of 32 staged in shared memory as T, double-buffered: the next step's global loads
// go to registers while the tensor cores work on the current one (plain loads, no cp.async, so the host
// emulation runs the same code). B is staged with its contiguous direction as the tile's rows: [k][n] for the
// forward (loaded as a row_major fragment), [n][k] for the input gradient, whose weights have co (= k)
// contiguous for a fixed (tap, ci) (loaded as a col_major fragment). Epilogue: each accumulator goes through a
// per-warp 16x16 fp32 patch in shared memory, gets the bias and the residual (a 16-byte chunk of T; null for
// none; never aliasing out) added in the order of the unfused conv-then-add, and is written as 16-byte chunks.
//
// Input gradient of a stride-s conv: a pixel only meets the taps with (iy + padTop - ky) % s == 0 (and likewise
// in x), so for SD's stride-2 3x3 downsamplers about 3/4 of A is zero and the tensor cores multiply those zeros
// too (the rows of a tile mix all parities; skipping would need the M order split by parity class). Those three
// convs are a small part of the backward pass; every stride-1 conv does no wasted work beyond the tile edges.
#include <type_traits>

#include "conv_gemm.cuh"
#include "tc.cuh"

namespace tav {

constexpr int TCV_BM = 128, TCV_BN = 64, TCV_BK = 32, TCV_THREADS = 128;
constexpr int TCV_LDA = TCV_BK + 8;  // row pitch of the A tile in T (80 bytes: staggers banks; a multiple of 8)
constexpr int TCV_LDC = 16 + 4;      // row pitch of the epilogue patch in floats

template <typename T, typename Map>
__device__ __forceinline__ void conv_gemm_tc(const Map g, const T* __restrict__ a_src, const T* __restrict__ w,
                                             const T* __restrict__ bias, const T* __restrict__ residual,
                                             T* __restrict__ out) {
    // B tile: BROWS rows of BCHUNKS 16-byte chunks along its contiguous direction, pitch LDB (+8: bank stagger).
    constexpr bool bk = Map::b_k_contiguous;
    constexpr int BROWS = bk ? TCV_BN : TCV_BK, BCHUNKS = (bk ? TCV_BK : TCV_BN) / 8, LDB = (bk ? TCV_BK : TCV_BN) + 8;
    constexpr int BSTEP = TCV_THREADS / BCHUNKS;  // rows apart of one thread's chunks
    using BLayout = std::conditional_t<bk, wmma::col_major, wmma::row_major>;
    __shared__ __align__(32) T as[2][TCV_BM * TCV_LDA];
    __shared__ __align__(32) T bs[2][BROWS * LDB];
    __shared__ __align__(32) float cs[TCV_THREADS / 32][16 * TCV_LDC];
    const long M = g.rows;
    const int K = g.depth, Nc = g.cols;
    const long m0 = long(blockIdx.x) * TCV_BM;
    const int n0 = blockIdx.y * TCV_BN;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp >> 1, wn = warp & 1;

    // A: 128 rows x 4 chunks of 8 per K step; this thread loads chunk a_kc of rows (tid >> 2) + 32 i. The rows
    // stay fixed over K: decode them once.
    const int a_kc = tid & 3;
    ConvRow a_row[4];
#pragma unroll
    for (int i = 0; i < 4; i++) a_row[i] = g.row(m0 + (tid >> 2) + 32 * i);
    // B: BROWS x BCHUNKS chunks per K step (256 either way); this thread loads chunk b_c of rows b_r + BSTEP i.
    const int b_c = tid % BCHUNKS, b_r = tid / BCHUNKS;

    uint4 ra[4], rb[2];
    const uint4 zero{0u, 0u, 0u, 0u};
    auto fetch = [&](int k0) {
        const int k = k0 + a_kc * 8;
        const ConvTap t = g.tap(k);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            long idx = k < K ? g.a_index(a_row[i], t) : -1;
            ra[i] = idx >= 0 ? ld16(a_src + idx) : zero;
        }
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int r = b_r + BSTEP * i;
            const int kb = bk ? k0 + b_c * 8 : k0 + r, nb = bk ? n0 + r : n0 + b_c * 8;
            rb[i] = (kb < K && nb < Nc) ? ld16(w + g.b_index(kb, nb)) : zero;
        }
    };
    auto stash = [&](int buf) {
#pragma unroll
        for (int i = 0; i < 4; i++) st16(&as[buf][((tid >> 2) + 32 * i) * TCV_LDA + a_kc * 8], ra[i]);
#pragma unroll
        for (int i = 0; i < 2; i++) st16(&bs[buf][(b_r + BSTEP * i) * LDB + b_c * 8], rb[i]);
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
            wmma::fragment<wmma::matrix_b, 16, 16, 16, T, BLayout> fb[2];
#pragma unroll
            for (int i = 0; i < 4; i++) wmma::load_matrix_sync(fa[i], &as[cur][(wm * 64 + i * 16) * TCV_LDA + kk], TCV_LDA);
#pragma unroll
            for (int j = 0; j < 2; j++) {
                const int nc = wn * 32 + j * 16;
                wmma::load_matrix_sync(fb[j], &bs[cur][bk ? nc * LDB + kk : kk * LDB + nc], LDB);
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
        if (s + 1 < steps) stash(cur ^ 1);  // the other buffer: last read before the previous barrier
        __syncthreads();
    }

    // Epilogue: lane -> row lane / 2 of the patch, 8 columns from (lane & 1) * 8.
    float* patch = cs[warp];
    const int pr = lane >> 1, pc = (lane & 1) * 8;
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 2; j++) {
            wmma::store_matrix_sync(patch, acc[i][j], TCV_LDC, wmma::mem_row_major);
            __syncwarp();
            long m = m0 + wm * 64 + i * 16 + pr;
            int n = n0 + wn * 32 + j * 16 + pc;
            if (m < M && n < Nc) {  // Nc % 8 == 0: the whole chunk is inside
                float v[8];
#pragma unroll
                for (int e = 0; e < 8; e++) v[e] = patch[pr * TCV_LDC + pc + e] + (bias ? ld(bias, n + e) : 0.0f);
                if (residual) {
                    float r[8];
                    load8f<T>(residual + m * Nc + n, r);
#pragma unroll
                    for (int e = 0; e < 8; e++) v[e] += r[e];
                }
                st16(out + m * Nc + n, pack8<T>(v));
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
        tav::conv_gemm_tc<T>(tav::conv_fwd_map(N, H, W, Ci, Ho, Wo, Co, kh, kw, stride, padTop, padLeft), x, w, \
                             bias, residual, out);                                                           \
    }                                                                                                        \
    TAV_EXPORT(conv2d_tc_##TN)                                                                               \
    extern "C" __global__ void __launch_bounds__(128)                                                       \
        conv2d_bwd_input_tc_##TN(const T* dy, const T* w, T* dx, int N, int H, int W, int Ci, int Ho, int Wo, \
                                 int Co, int kh, int kw, int stride, int padTop, int padLeft) {              \
        tav::conv_gemm_tc<T>(tav::conv_dgrad_map(N, H, W, Ci, Ho, Wo, Co, kh, kw, stride, padTop, padLeft), dy, \
                             w, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr), dx);         \
    }                                                                                                        \
    TAV_EXPORT(conv2d_bwd_input_tc_##TN)

TAV_CONV_TC(f16, f16)
TAV_CONV_TC(bf16, bf16)
