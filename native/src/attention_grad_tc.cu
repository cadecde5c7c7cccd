// Attention backward on tensor cores (FlashAttention-2 style, WMMA m16n16k16 with half/bf16 inputs and fp32
// accumulation) for SELF, CAUSAL, SPARSE_CAUSAL and CROSS attention. Same arguments, layout, statistics buffer and
// two-phase structure as attention_bwd_q_d* / attention_bwd_kv_d* in attention_grad.cu (q, dO, dQ [N, Lq, C]; k, v,
// dK, dV [Nk, Lkv, C]; heads interleaved in C; sparse-causal keys of frame 0 and frame f-1 read in place), so the
// dispatcher (TensorCoreAttentionGrad.java) swaps them in. TEMPORAL stays on its CUDA-core kernels.
//
// Recompute-based and deterministic (no atomics, fixed summation order):
//   query phase (attention_bwd_tc_q_d<DP>: 64 queries of one (image, head) per block of 4 warps, 16 per warp)
//     pass 1, per key tile of 64: S = Q.Kt and dP = dO.Vt (WMMA) -> fp32 patches; row-wise online max / sum of
//       P = exp(scale S - m) and D = sum_j P_j dP_j (= dO . O, with O unrounded), two lanes per row;
//     pass 2, per key tile: S and dP again; dS = P (dP - D) rounded to T; dQ += dS.K (WMMA, accumulators kept in
//       fragments: no row-wise rescale is needed once lse is known). dQ = scale dQ; (lse, D) to stats, natural log.
//   key phase (attention_bwd_tc_kv_d<DP>: 64 keys of one (key image, head) per block, 16 per warp) owns dK and dV
//     of its keys and loops over every query image that read them, exactly as attention_bwd_kv (all frames for the
//     frame-0 keys of sparse-causal attention, twice for frames 0 and 1, which read frame 0 twice; every frame of
//     the batch item for cross attention), over query tiles of 64 with their (lse, D) from the query phase:
//     St = K.Qt, dPt = V.dOt (WMMA) -> patches; Pt = exp(scale St - lse), dSt = Pt (dPt - D) (times the read
//     multiplicity), both rounded to T; dV += Pt.dO and dK += dSt.Q (WMMA, fragments); dK = scale dK.
// Rounding: P and dS are rounded to T before their WMMA products (as FlashAttention does; P and dS in fp32 would
// need fp32 tensor-core inputs), q/k/v/dO are T already, all sums are fp32; the gradients are written as T.
// Row-wise work (masks, exp, the per-query lse/D that differ per column in the key phase) is done on fp32 shared-
// memory patches, never on fragments, whose element mapping is unspecified.
//
// Covered (the dispatcher checks, else the CUDA-core pair runs): D % 8 == 0, D <= 160, 16-byte aligned tensors.
// DP = D rounded up to a multiple of 16 (the WMMA K step); the padding columns are zero in shared memory, so they
// add nothing to any product, and are never written back. Dynamic shared memory: AttnBwdTcSmem below (the Java
// side computes the same figure; 55-161 KiB; above 48 KiB the launch opts in).
#include "attention_keys.cuh"
#include "tc.cuh"

namespace tavbt {

using tav::ld16;
using tav::pack8;
using tav::st16;
using tav::to_t;
namespace wmma = nvcuda::wmma;

constexpr int BT_ROWS = 64, BT_WARPS = 4, BT_THREADS = BT_WARPS * 32;  // rows per block and per tile
using tav::ATTN_CAUSAL;
using tav::ATTN_CROSS;
using tav::ATTN_SPARSE_CAUSAL;
using tav::key_offset;
using tav::key_reader;
constexpr float BT_LOG2E = 1.4426950408889634f, BT_LN2 = 0.6931471805599453f;

// Dynamic shared memory of both phases (TensorCoreAttentionGrad.smemBytes computes the same). Every region and
// every warp's slice starts 32-byte aligned (WMMA tile pointers), every pitch is a multiple of 16 bytes.
template <int DP>
struct AttnBwdTcSmem {
    static constexpr int LDT = DP + 8;                                // Q / dO / K / V tile pitch in T
    static constexpr int LDS = (BT_ROWS > DP ? BT_ROWS : DP) + 4;     // S patch pitch in floats (also output staging)
    static constexpr int LDD = BT_ROWS + 4;                           // dP patch pitch in floats
    static constexpr int LDP = BT_ROWS + 8;                           // P / dS pitch in T
    static constexpr int TILES = 4 * BT_ROWS * LDT * 2;               // four 64-row tiles of T
    static constexpr int PATCHES = BT_WARPS * 16 * (LDS + LDD) * 4;   // per warp: S and dP
    static constexpr int QUERY_BYTES = TILES + PATCHES + BT_WARPS * 16 * LDP * 2;                 // + dS
    static constexpr int KEY_BYTES = TILES + PATCHES + 2 * BT_WARPS * 16 * LDP * 2 + 2 * BT_ROWS * 4;  // + P, dS, lse/D
};

using Acc = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

// Stages rows r0 .. r0+63 of two tensors read at the same offsets (row j at off(j)) into shared tiles as T; rows
// j >= end and the padding columns D .. DP-1 are zero.
template <int DP, typename T, typename Off>
__device__ __forceinline__ void stage2(T* as, T* bs, const T* a, const T* b, int r0, int end, int D, Off off) {
    constexpr int CH = DP / 8, LDT = AttnBwdTcSmem<DP>::LDT;
    const uint4 zero{0u, 0u, 0u, 0u};
    for (int e = threadIdx.x; e < BT_ROWS * CH; e += BT_THREADS) {
        int r = e / CH, c8 = (e - r * CH) * 8, j = r0 + r;
        uint4 x = zero, y = zero;
        if (j < end && c8 < D) {
            long o = off(j) + c8;
            x = ld16(a + o);
            y = ld16(b + o);
        }
        st16(as + r * LDT + c8, x);
        st16(bs + r * LDT + c8, y);
    }
}

// This warp's o1 = A1.B1t and o2 = A2.B2t (16 x 64 each, into fp32 patches of pitch ld1 / ld2): A are the warp's
// 16 rows of a tile (row-major), B a whole 64-row tile whose rows are the columns of Bt (so Bt is col-major). The
// column-block loop is not unrolled, for the register reason given at accumulate().
template <int DP, typename T>
__device__ __forceinline__ void products_t(const T* a1, const T* b1, float* o1, int ld1, const T* a2, const T* b2,
                                           float* o2, int ld2) {
    constexpr int LDT = AttnBwdTcSmem<DP>::LDT;
#pragma unroll 1
    for (int jn = 0; jn < BT_ROWS / 16; jn++) {
        Acc f1, f2;
        wmma::fill_fragment(f1, 0.0f);
        wmma::fill_fragment(f2, 0.0f);
#pragma unroll
        for (int kd = 0; kd < DP / 16; kd++) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> af;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> bf;
            wmma::load_matrix_sync(af, a1 + kd * 16, LDT);
            wmma::load_matrix_sync(bf, b1 + jn * 16 * LDT + kd * 16, LDT);
            wmma::mma_sync(f1, af, bf, f1);
            wmma::load_matrix_sync(af, a2 + kd * 16, LDT);
            wmma::load_matrix_sync(bf, b2 + jn * 16 * LDT + kd * 16, LDT);
            wmma::mma_sync(f2, af, bf, f2);
        }
        wmma::store_matrix_sync(o1 + jn * 16, f1, ld1, wmma::mem_row_major);
        wmma::store_matrix_sync(o2 + jn * 16, f2, ld2, wmma::mem_row_major);
    }
    __syncwarp();
}

// acc (16 x DP) += P.X: P the warp's 16 x 64 patch of T (pitch LDP), X a 64-row tile (row-major, pitch LDT). The
// k loop is not unrolled so its fragment addresses are formed inside it: hoisted, they took a 64-bit register
// pair each (bf16 fragment loads use generic addresses) and the bf16 key phase spilled at DP >= 128.
template <int DP, typename T>
__device__ __forceinline__ void accumulate(Acc (&acc)[DP / 16], const T* p, const T* x) {
    using L = AttnBwdTcSmem<DP>;
#pragma unroll 1
    for (int kj = 0; kj < BT_ROWS / 16; kj++) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> pf;
        wmma::load_matrix_sync(pf, p + kj * 16, L::LDP);
#pragma unroll
        for (int dn = 0; dn < DP / 16; dn++) {
            wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> xf;
            wmma::load_matrix_sync(xf, x + kj * 16 * L::LDT + dn * 16, L::LDT);
            wmma::mma_sync(acc[dn], pf, xf, acc[dn]);
        }
    }
}

// Writes the warp's 16 x DP accumulators times mul as T to the global rows r0 .. r0+15 that are < end (row r at
// off(r)), through the warp's fp32 patch (pitch LDS), in 16-byte chunks of the D real columns.
template <int DP, typename T, typename Off>
__device__ __forceinline__ void store_rows(const Acc (&acc)[DP / 16], float* patch, T* out, int r0, int end,
                                           int D, float mul, Off off) {
    using L = AttnBwdTcSmem<DP>;
    constexpr int CH = DP / 8;
    __syncwarp();  // the patch's previous contents have been read by every lane
#pragma unroll
    for (int dn = 0; dn < DP / 16; dn++) wmma::store_matrix_sync(patch + dn * 16, acc[dn], L::LDS, wmma::mem_row_major);
    __syncwarp();
    const int lane = threadIdx.x & 31;
    for (int e = lane; e < 16 * CH; e += 32) {
        int r = e / CH, c8 = (e - r * CH) * 8;
        if (r0 + r >= end || c8 >= D) continue;
        float x[8];
#pragma unroll
        for (int i = 0; i < 8; i++) x[i] = patch[r * L::LDS + c8 + i] * mul;
        st16(out + off(r0 + r) + c8, pack8<T>(x));
    }
}

template <int DP, typename T>
__device__ __forceinline__ void attention_bwd_tc_query(const T* __restrict__ q, const T* __restrict__ k,
                                                       const T* __restrict__ v, const T* __restrict__ dO,
                                                       T* __restrict__ dQ, float* __restrict__ stats, int kind,
                                                       int frames, int heads, int D, int Lq, int lkv, int nkeys,
                                                       int C, float scale) {
    using L = AttnBwdTcSmem<DP>;
#ifdef TAV_EMU
    TAV_DYNAMIC_SMEM(unsigned char, smem);  // 128-byte aligned by the emulation
#else
    extern __shared__ __align__(128) unsigned char smem[];
#endif
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    T* qs = reinterpret_cast<T*>(smem);
    T* os = qs + BT_ROWS * L::LDT;
    T* ks = os + BT_ROWS * L::LDT;
    T* vs = ks + BT_ROWS * L::LDT;
    float* patches = reinterpret_cast<float*>(vs + BT_ROWS * L::LDT);
    float* ss = patches + warp * 16 * L::LDS;
    float* dps = patches + BT_WARPS * 16 * L::LDS + warp * 16 * L::LDD;
    T* dss = reinterpret_cast<T*>(patches + BT_WARPS * 16 * (L::LDS + L::LDD)) + warp * 16 * L::LDP;

    const int n = blockIdx.y / heads, h = blockIdx.y - n * heads;
    const int q0 = blockIdx.x * BT_ROWS;
    const long qbase = long(n) * Lq * C + long(h) * D;
    auto qoff = [=](int i) { return qbase + long(i) * C; };
    auto koff = [=](int j) { return key_offset(kind, n, frames, lkv, j, C, h, D); };
    stage2<DP>(qs, os, q, dO, q0, Lq, D, qoff);  // made visible by the first barrier of the tile loop

    const T* qw = qs + warp * 16 * L::LDT;
    const T* ow = os + warp * 16 * L::LDT;
    const int row = lane >> 1, half = lane & 1;
    const int qi = q0 + warp * 16 + row;
    const bool causal = kind == ATTN_CAUSAL;
    const float sl = scale * BT_LOG2E;  // scores in log2 units
    const int kend = causal ? min(nkeys, q0 + BT_ROWS) : nkeys;

    // pass 1: running max m and sum l of exp2(S sl - m), and dsum = sum_j p_j dP_j, rescaled online
    float m = -INFINITY, l = 0.0f, dsum = 0.0f;
    for (int t0 = 0; t0 < kend; t0 += BT_ROWS) {
        __syncthreads();  // every warp is done with the previous K/V tile
        stage2<DP>(ks, vs, k, v, t0, kend, D, koff);
        __syncthreads();
        products_t<DP>(qw, ks, ss, L::LDS, ow, vs, dps, L::LDD);
        float tmax = -INFINITY;
#pragma unroll 8
        for (int t = 0; t < BT_ROWS / 2; t++) {
            int c = 2 * t + half, j = t0 + c;
            if (j < kend && !(causal && j > qi)) tmax = fmaxf(tmax, ss[row * L::LDS + c] * sl);
        }
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
        const float mnew = fmaxf(m, tmax);
        const float base = mnew == -INFINITY ? 0.0f : mnew;  // a row with nothing unmasked yet keeps p = 0
        const float corr = exp2f(m - base);                   // 0 while m = -inf
        float ps = 0.0f, pd = 0.0f;
#pragma unroll 8
        for (int t = 0; t < BT_ROWS / 2; t++) {
            int c = 2 * t + half, j = t0 + c;
            if (j < kend && !(causal && j > qi)) {
                float p = exp2f(ss[row * L::LDS + c] * sl - base);
                ps += p;
                pd += p * dps[row * L::LDD + c];
            }
        }
        ps += __shfl_xor_sync(0xffffffffu, ps, 1);
        pd += __shfl_xor_sync(0xffffffffu, pd, 1);
        l = l * corr + ps;
        dsum = dsum * corr + pd;
        m = mnew;
    }
    const float lse2 = l > 0.0f ? m + log2f(l) : INFINITY;  // log2 units; +inf makes every p 0
    const float dd = l > 0.0f ? dsum / l : 0.0f;

    // pass 2: dS = P (dP - D) rounded to T, dQ += dS.K
    Acc dq[DP / 16];
#pragma unroll
    for (int dn = 0; dn < DP / 16; dn++) wmma::fill_fragment(dq[dn], 0.0f);
    for (int t0 = 0; t0 < kend; t0 += BT_ROWS) {
        __syncthreads();
        stage2<DP>(ks, vs, k, v, t0, kend, D, koff);
        __syncthreads();
        products_t<DP>(qw, ks, ss, L::LDS, ow, vs, dps, L::LDD);
#pragma unroll 8
        for (int t = 0; t < BT_ROWS / 2; t++) {
            int c = 2 * t + half, j = t0 + c;
            bool masked = j >= kend || (causal && j > qi);
            float ds = masked ? 0.0f : exp2f(ss[row * L::LDS + c] * sl - lse2) * (dps[row * L::LDD + c] - dd);
            dss[row * L::LDP + c] = to_t<T>(ds);
        }
        __syncwarp();
        accumulate<DP>(dq, dss, ks);
    }
    store_rows<DP>(dq, ss, dQ, q0 + warp * 16, Lq, D, scale, qoff);
    if (half == 0 && qi < Lq) {
        long r = (long(n) * heads + h) * Lq + qi;
        stats[r * 2] = lse2 * BT_LN2;
        stats[r * 2 + 1] = dd;
    }
}

template <int DP, typename T>
__device__ __forceinline__ void attention_bwd_tc_key(const T* __restrict__ q, const T* __restrict__ k,
                                                     const T* __restrict__ v, const T* __restrict__ dO,
                                                     const float* __restrict__ stats, T* __restrict__ dK,
                                                     T* __restrict__ dV, int kind, int frames, int heads, int D,
                                                     int Lq, int lkv, int C, float scale) {
    using L = AttnBwdTcSmem<DP>;
#ifdef TAV_EMU
    TAV_DYNAMIC_SMEM(unsigned char, smem);
#else
    extern __shared__ __align__(128) unsigned char smem[];
#endif
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    T* ks = reinterpret_cast<T*>(smem);
    T* vs = ks + BT_ROWS * L::LDT;
    T* qs = vs + BT_ROWS * L::LDT;
    T* os = qs + BT_ROWS * L::LDT;
    float* patches = reinterpret_cast<float*>(os + BT_ROWS * L::LDT);
    float* ss = patches + warp * 16 * L::LDS;
    float* dps = patches + BT_WARPS * 16 * L::LDS + warp * 16 * L::LDD;
    T* ps0 = reinterpret_cast<T*>(patches + BT_WARPS * 16 * (L::LDS + L::LDD));  // P of all warps, then dS
    T* pss = ps0 + warp * 16 * L::LDP;
    T* dss = ps0 + (BT_WARPS + warp) * 16 * L::LDP;
    float* lses = reinterpret_cast<float*>(ps0 + 2 * BT_WARPS * 16 * L::LDP);  // per query of the tile, log2 units
    float* dds = lses + BT_ROWS;

    const int kimg = blockIdx.y / heads, h = blockIdx.y - kimg * heads;
    const int j0 = blockIdx.x * BT_ROWS;
    const long kbase = long(kimg) * lkv * C + long(h) * D;
    auto koff = [=](int j) { return kbase + long(j) * C; };
    stage2<DP>(ks, vs, k, v, j0, lkv, D, koff);  // made visible by the first barrier of the loop

    const T* kw = ks + warp * 16 * L::LDT;
    const T* vw = vs + warp * 16 * L::LDT;
    const int row = lane >> 1, half = lane & 1;
    const int j = j0 + warp * 16 + row;  // this lane pair's key
    const bool causal = kind == ATTN_CAUSAL;
    const float sl = scale * BT_LOG2E;

    Acc dk[DP / 16], dv[DP / 16];
#pragma unroll
    for (int dn = 0; dn < DP / 16; dn++) {
        wmma::fill_fragment(dk[dn], 0.0f);
        wmma::fill_fragment(dv[dn], 0.0f);
    }
    const int readers = (kind == ATTN_SPARSE_CAUSAL || kind == ATTN_CROSS) ? frames : 1;
    for (int it = 0; it < readers; it++) {
        int img;
        const int mult = key_reader(kind, frames, kimg, it, img);
        if (mult == 0) continue;  // uniform over the block
        const float fm = float(mult);
        const float* sq = stats + (long(img) * heads + h) * Lq * 2;
        const long qbase = long(img) * Lq * C + long(h) * D;
        auto qoff = [=](int i) { return qbase + long(i) * C; };
        for (int t0 = causal ? j0 : 0; t0 < Lq; t0 += BT_ROWS) {  // causal: queries before j0 see none of these keys
            __syncthreads();  // every warp is done with the previous Q/dO tile
            stage2<DP>(qs, os, q, dO, t0, Lq, D, qoff);
            if (tid < BT_ROWS) {
                int i = t0 + tid;
                lses[tid] = i < Lq ? sq[long(i) * 2] * BT_LOG2E : INFINITY;
                dds[tid] = i < Lq ? sq[long(i) * 2 + 1] : 0.0f;
            }
            __syncthreads();
            products_t<DP>(kw, qs, ss, L::LDS, vw, os, dps, L::LDD);  // St = K.Qt, dPt = V.dOt
#pragma unroll 2
            for (int t = 0; t < BT_ROWS / 2; t++) {
                int c = 2 * t + half, i = t0 + c;
                bool valid = i < Lq && j < lkv && (!causal || i >= j);
                float p = valid ? exp2f(ss[row * L::LDS + c] * sl - lses[c]) : 0.0f;
                float ds = p * (dps[row * L::LDD + c] - dds[c]) * fm;
                pss[row * L::LDP + c] = to_t<T>(p * fm);
                dss[row * L::LDP + c] = to_t<T>(ds);
            }
            __syncwarp();
            accumulate<DP>(dv, pss, os);
            accumulate<DP>(dk, dss, qs);
        }
    }
    if (dV) store_rows<DP>(dv, ss, dV, j0 + warp * 16, lkv, D, 1.0f, koff);
    if (dK) store_rows<DP>(dk, ss, dK, j0 + warp * 16, lkv, D, scale, koff);
}

}  // namespace tavbt

#define TAV_ATTENTION_GRAD_TC(DP, T, TN)                                                                       \
    extern "C" __global__ void __launch_bounds__(128, 1) /* 1: all registers for the fragments, no spills */  \
        attention_bwd_tc_q_d##DP##_##TN(const T* q, const T* k, const T* v, const T* dO, T* dQ, float* stats, \
                                        int kind, int frames, int heads, int D, int Lq, int lkv, int nkeys,    \
                                        int C, float scale) {                                                  \
        tavbt::attention_bwd_tc_query<DP, T>(q, k, v, dO, dQ, stats, kind, frames, heads, D, Lq, lkv, nkeys,  \
                                             C, scale);                                                        \
    }                                                                                                          \
    TAV_EXPORT(attention_bwd_tc_q_d##DP##_##TN)                                                                \
    extern "C" __global__ void __launch_bounds__(128, 1)                                                      \
        attention_bwd_tc_kv_d##DP##_##TN(const T* q, const T* k, const T* v, const T* dO, const float* stats,  \
                                         T* dK, T* dV, int kind, int frames, int heads, int D, int Lq,         \
                                         int lkv, int C, float scale) {                                        \
        tavbt::attention_bwd_tc_key<DP, T>(q, k, v, dO, stats, dK, dV, kind, frames, heads, D, Lq, lkv, C,    \
                                           scale);                                                             \
    }                                                                                                          \
    TAV_EXPORT(attention_bwd_tc_kv_d##DP##_##TN)

#define TAV_ATTENTION_GRAD_TC_TYPES(DP) TAV_ATTENTION_GRAD_TC(DP, f16, f16) TAV_ATTENTION_GRAD_TC(DP, bf16, bf16)

TAV_ATTENTION_GRAD_TC_TYPES(16)
TAV_ATTENTION_GRAD_TC_TYPES(32)
TAV_ATTENTION_GRAD_TC_TYPES(48)
TAV_ATTENTION_GRAD_TC_TYPES(64)
TAV_ATTENTION_GRAD_TC_TYPES(80)
TAV_ATTENTION_GRAD_TC_TYPES(128)
TAV_ATTENTION_GRAD_TC_TYPES(160)
