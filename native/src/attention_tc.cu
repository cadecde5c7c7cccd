// Fused multi-head attention on tensor cores (flash-attention style, WMMA m16n16k16 with half/bf16 inputs and
// fp32 accumulation) for SELF, CAUSAL, SPARSE_CAUSAL and CROSS attention; same arguments and layout as
// attention_d*_* in attention.cu (q, out [N, Lq, C]; k, v [Nk, Lkv, C]; heads interleaved in C; sparse-causal
// keys of frame 0 and frame f-1 read in place through attention_keys.cuh, nothing copied). TEMPORAL stays there.
//
// Covered (the dispatcher checks, else attention_d*_* runs): head size D % 8 == 0, D <= 160, 16-byte aligned
// tensors: rows of a head are read as 16-byte chunks. DP = D rounded up to a multiple of 16 (the WMMA K
// step); the padding columns are zero in shared memory, so they add nothing to Q.Kt nor to P.V.
//
// Work split: a block of 4 warps serves 64 queries of one (image, head), 16 per warp; keys and values come in
// tiles of 64 staged in shared memory (as T) for the whole block. Per tile and warp:
//   S = Q.Kt (16 x 64, WMMA, Q fragments kept in registers) -> fp32 patch in shared memory;
//   online softmax on the patch (two lanes per query row, fp32, exp2 with the scale folded in; running max m
//   and sum l per row), P rounded to T into shared memory (l sums the rounded values, so the weights that
//   multiply V sum to exactly 1 after normalisation);
//   P.V (16 x DP, WMMA) -> the fp32 patch -> added to the row's output registers after scaling them by
//   exp(m_old - m_new): the rescale is row-wise, which WMMA fragments cannot express (their element mapping is
//   not specified), so the output accumulates in registers with a known mapping (lane -> row lane / 2,
//   columns 2 i + lane % 2).
// Nothing but the output is written to global memory.
#include "attention_keys.cuh"
#include "tc.cuh"

namespace tav {

constexpr int TCA_BQ = 64, TCA_BKV = 64, TCA_WARPS = 4, TCA_THREADS = TCA_WARPS * 32;

// Dynamic shared memory of attention_tc_d<DP>: the Java dispatcher computes the same figure
// (TensorCoreKernels.attentionSmemBytes).
template <int DP, typename T>
struct AttnTcSmem {
    static constexpr int LDT = DP + 8;                                   // Q/K/V tile pitch in T
    static constexpr int LDS = (TCA_BKV > DP ? TCA_BKV : DP) + 4;        // S / P.V patch pitch in floats
    static constexpr int LDP = TCA_BKV + 8;                              // P pitch in T
    static constexpr int BYTES = (TCA_BQ + 2 * TCA_BKV) * LDT * 2 + TCA_WARPS * 16 * LDS * 4 + TCA_WARPS * 16 * LDP * 2;
};

template <int DP, typename T>
__device__ __forceinline__ void attention_tc(const T* __restrict__ q, const T* __restrict__ k,
                                             const T* __restrict__ v, T* __restrict__ out, int kind, int frames,
                                             int heads, int D, int Lq, int lkv, int nkeys, int C, float scale) {
    using L = AttnTcSmem<DP, T>;
    constexpr int CH = DP / 8;  // 16-byte chunks per tile row
#ifdef TAV_EMU
    TAV_DYNAMIC_SMEM(unsigned char, smem);  // 128-byte aligned by the emulation
#else
    extern __shared__ __align__(128) unsigned char smem[];  // WMMA tile pointers must be 32-byte aligned
#endif
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    T* qs = reinterpret_cast<T*>(smem);
    T* ks = qs + TCA_BQ * L::LDT;
    T* vs = ks + TCA_BKV * L::LDT;
    float* ss = reinterpret_cast<float*>(vs + TCA_BKV * L::LDT) + warp * 16 * L::LDS;
    T* ps = reinterpret_cast<T*>(reinterpret_cast<float*>(vs + TCA_BKV * L::LDT) + TCA_WARPS * 16 * L::LDS) + warp * 16 * L::LDP;

    const int n = blockIdx.y / heads, h = blockIdx.y - n * heads;
    const int q0 = blockIdx.x * TCA_BQ;
    const uint4 zero{0u, 0u, 0u, 0u};

    for (int e = tid; e < TCA_BQ * CH; e += TCA_THREADS) {
        int r = e / CH, c8 = (e - r * CH) * 8;
        bool ok = q0 + r < Lq && c8 < D;
        st16(qs + r * L::LDT + c8, ok ? ld16(q + (long(n) * Lq + q0 + r) * C + long(h) * D + c8) : zero);
    }
    __syncthreads();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> qf[DP / 16];
#pragma unroll
    for (int kd = 0; kd < DP / 16; kd++) wmma::load_matrix_sync(qf[kd], qs + warp * 16 * L::LDT + kd * 16, L::LDT);

    const int row = lane >> 1, half = lane & 1;
    const int qi = q0 + warp * 16 + row;
    const float sl = scale * 1.4426950408889634f;  // scores in log2 units
    float m = -INFINITY, l = 0.0f;
    float o[DP / 2];
#pragma unroll
    for (int i = 0; i < DP / 2; i++) o[i] = 0.0f;

    int kend = nkeys;
    if (kind == ATTN_CAUSAL) kend = min(nkeys, q0 + TCA_BQ);
    for (int t0 = 0; t0 < kend; t0 += TCA_BKV) {
        __syncthreads();  // every warp is done with the previous K/V tile
        for (int e = tid; e < TCA_BKV * CH; e += TCA_THREADS) {
            int r = e / CH, c8 = (e - r * CH) * 8, j = t0 + r;
            uint4 kv = zero, vv = zero;
            if (j < kend && c8 < D) {
                long off = key_offset(kind, n, frames, lkv, j, C, h, D) + c8;
                kv = ld16(k + off);
                vv = ld16(v + off);
            }
            st16(ks + r * L::LDT + c8, kv);
            st16(vs + r * L::LDT + c8, vv);
        }
        __syncthreads();

        // S = Q.Kt: K's tile rows are the columns of Kt, i.e. Kt is col-major with pitch LDT.
#pragma unroll
        for (int jn = 0; jn < TCA_BKV / 16; jn++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> sf;
            wmma::fill_fragment(sf, 0.0f);
#pragma unroll
            for (int kd = 0; kd < DP / 16; kd++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> kf;
                wmma::load_matrix_sync(kf, ks + jn * 16 * L::LDT + kd * 16, L::LDT);
                wmma::mma_sync(sf, qf[kd], kf, sf);
            }
            wmma::store_matrix_sync(ss + jn * 16, sf, L::LDS, wmma::mem_row_major);
        }
        __syncwarp();

        // Online softmax of this lane's half of its row (columns 2 t + half).
        float tmax = -INFINITY;
#pragma unroll 8
        for (int t = 0; t < TCA_BKV / 2; t++) {
            int c = 2 * t + half, j = t0 + c;
            bool masked = j >= kend || (kind == ATTN_CAUSAL && j > qi);
            if (!masked) tmax = fmaxf(tmax, ss[row * L::LDS + c] * sl);
        }
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
        const float mnew = fmaxf(m, tmax);
        const float base = mnew == -INFINITY ? 0.0f : mnew;  // a row with nothing unmasked yet keeps p = 0
        const float corr = exp2f(m - base);                   // 0 on the first tile (m = -inf)
        float sum = 0.0f;
#pragma unroll 8
        for (int t = 0; t < TCA_BKV / 2; t++) {
            int c = 2 * t + half, j = t0 + c;
            bool masked = j >= kend || (kind == ATTN_CAUSAL && j > qi);
            T p = to_t<T>(masked ? 0.0f : exp2f(ss[row * L::LDS + c] * sl - base));
            sum += to_f(p);
            ps[row * L::LDP + c] = p;
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * corr + sum;
        m = mnew;
        __syncwarp();

        // P.V, one 16-column block of the head at a time, into the patch.
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> pf[TCA_BKV / 16];
#pragma unroll
        for (int kj = 0; kj < TCA_BKV / 16; kj++) wmma::load_matrix_sync(pf[kj], ps + kj * 16, L::LDP);
#pragma unroll
        for (int dn = 0; dn < DP / 16; dn++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> of;
            wmma::fill_fragment(of, 0.0f);
#pragma unroll
            for (int kj = 0; kj < TCA_BKV / 16; kj++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> vf;
                wmma::load_matrix_sync(vf, vs + kj * 16 * L::LDT + dn * 16, L::LDT);
                wmma::mma_sync(of, pf[kj], vf, of);
            }
            wmma::store_matrix_sync(ss + dn * 16, of, L::LDS, wmma::mem_row_major);
        }
        __syncwarp();
#pragma unroll
        for (int i = 0; i < DP / 2; i++) o[i] = o[i] * corr + ss[row * L::LDS + 2 * i + half];
        // the next tile's S overwrites the patch only after the __syncthreads at the top of the loop
    }
    if (qi >= Lq) return;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    const long ooff = (long(n) * Lq + qi) * C + long(h) * D;
#pragma unroll
    for (int i = 0; i < DP / 2; i++) {
        int d = 2 * i + half;
        if (d < D) st(out, ooff + d, o[i] * inv);
    }
}

}  // namespace tav

#define TAV_ATTENTION_TC(DP, T, TN)                                                                          \
    extern "C" __global__ void __launch_bounds__(128, 1) /* 1: lets ptxas use the registers, no spills */   \
        attention_tc_d##DP##_##TN(const T* q, const T* k, const T* v, T* out, int kind, int frames,          \
                                  int heads, int D, int Lq, int lkv, int nkeys, int C, float scale) {        \
        tav::attention_tc<DP, T>(q, k, v, out, kind, frames, heads, D, Lq, lkv, nkeys, C, scale);            \
    }                                                                                                        \
    TAV_EXPORT(attention_tc_d##DP##_##TN)

#define TAV_ATTENTION_TC_TYPES(DP) TAV_ATTENTION_TC(DP, f16, f16) TAV_ATTENTION_TC(DP, bf16, bf16)

TAV_ATTENTION_TC_TYPES(16)
TAV_ATTENTION_TC_TYPES(32)
TAV_ATTENTION_TC_TYPES(48)
TAV_ATTENTION_TC_TYPES(64)
TAV_ATTENTION_TC_TYPES(80)
TAV_ATTENTION_TC_TYPES(128)
TAV_ATTENTION_TC_TYPES(160)
