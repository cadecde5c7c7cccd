// Fused multi-head attention with an online softmax: the score matrix is never materialised and the keys /
// values are read in place (sparse-causal attention addresses frame 0 and frame f-1 directly; nothing is
// copied). Layout: q, out [N, Lq, C]; k, v [Nk, Lkv, C]; heads interleaved in C (channel = h * D + i).
//
// Work split: a block of 128 threads serves 32 queries of one (image, head); each query is served by a group
// of 4 neighbouring threads, thread s of the group owning dimensions s, s+4, s+8, ... of the head (so the 4
// threads read consecutive shared-memory words). Keys and values are staged through shared memory in tiles of
// 32. DMAX (the head size rounded up to a supported bucket: 8, 16, 32, 40, 64, 80, 128, 160) sets the register
// arrays, so a head of 40 costs 10 registers per thread for q and for the accumulator, not 40 of 160.
#include "attention_keys.cuh"

namespace tav {

constexpr int ATTN_THREADS = 128;
constexpr int ATTN_GROUP = 4;                              // threads per query
constexpr int ATTN_BQ = ATTN_THREADS / ATTN_GROUP;         // queries per block
constexpr int ATTN_BK = 32;                                // keys per shared-memory tile

template <int DMAX, typename T>
__device__ __forceinline__ void attention_tiled(const T* __restrict__ q, const T* __restrict__ k,
                                                const T* __restrict__ v, T* __restrict__ out, int kind,
                                                int frames, int heads, int D, int Lq, int lkv, int nkeys, int C,
                                                float scale) {
    constexpr int DPT = DMAX / ATTN_GROUP;
    __shared__ float ks[ATTN_BK][DMAX];
    __shared__ float vs[ATTN_BK][DMAX];

    const int n = blockIdx.y / heads, h = blockIdx.y - (blockIdx.y / heads) * heads;
    const int s = threadIdx.x & (ATTN_GROUP - 1);
    const int qi = blockIdx.x * ATTN_BQ + threadIdx.x / ATTN_GROUP;
    const bool active = qi < Lq;
    const long qoff = (long(n) * Lq + (active ? qi : 0)) * C + long(h) * D;

    float qr[DPT], acc[DPT];
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * ATTN_GROUP + s;
        qr[i] = d < D ? ld(q, qoff + d) * scale : 0.0f;
        acc[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;

    // Causal blocks stop at their last query; every thread of the block runs the same number of tiles.
    int kend = nkeys;
    if (kind == ATTN_CAUSAL) kend = min(nkeys, int(blockIdx.x) * ATTN_BQ + ATTN_BQ);

    for (int t0 = 0; t0 < kend; t0 += ATTN_BK) {
        __syncthreads();  // the previous tile is no longer read
        for (int e = threadIdx.x; e < ATTN_BK * DMAX; e += ATTN_THREADS) {
            int r = e / DMAX, d = e - r * DMAX, j = t0 + r;
            float kv = 0.0f, vv = 0.0f;
            if (d < D && j < kend) {
                int img, row;
                key_source(kind, n, frames, lkv, j, img, row);
                long off = kv_offset(img, row, lkv, C, h, D) + d;
                kv = ld(k, off);
                vv = ld(v, off);
            }
            ks[r][d] = kv;
            vs[r][d] = vv;
        }
        __syncthreads();

        float sc[ATTN_BK];
        float tmax = -INFINITY;
#pragma unroll
        for (int r = 0; r < ATTN_BK; r++) {
            float p = 0.0f;
#pragma unroll
            for (int i = 0; i < DPT; i++) p += qr[i] * ks[r][i * ATTN_GROUP + s];
            p += __shfl_xor_sync(0xffffffffu, p, 1);
            p += __shfl_xor_sync(0xffffffffu, p, 2);
            int j = t0 + r;
            bool masked = j >= kend || (kind == ATTN_CAUSAL && j > qi);
            sc[r] = masked ? -INFINITY : p;
            tmax = fmaxf(tmax, sc[r]);
        }
        if (tmax == -INFINITY) continue;  // everything masked for this query (uniform per query group)
        float mnew = fmaxf(m, tmax);
        float corr = expf(m - mnew);  // 0 on the first tile (m = -inf)
        l *= corr;
#pragma unroll
        for (int i = 0; i < DPT; i++) acc[i] *= corr;
#pragma unroll
        for (int r = 0; r < ATTN_BK; r++) {
            float p = expf(sc[r] - mnew);
            l += p;
#pragma unroll
            for (int i = 0; i < DPT; i++) acc[i] += p * vs[r][i * ATTN_GROUP + s];
        }
        m = mnew;
    }
    if (!active) return;
    float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * ATTN_GROUP + s;
        if (d < D) st(out, qoff + d, acc[i] * inv);
    }
}

// Temporal attention: token l of image b*F+f attends to token l of images b*F+0..F-1. F is small (the number
// of frames), so keys are read straight from global memory; groups of 4 threads per query as above, with the
// queries of one token's heads adjacent so a warp reads contiguous channels.
template <int DMAX, typename T>
__device__ __forceinline__ void attention_temporal(const T* __restrict__ q, const T* __restrict__ k,
                                                   const T* __restrict__ v, T* __restrict__ out, int frames,
                                                   int heads, int D, int N, int L, int C, float scale) {
    constexpr int DPT = DMAX / ATTN_GROUP;
    const int s = threadIdx.x & (ATTN_GROUP - 1);
    const long query = long(blockIdx.x) * ATTN_BQ + threadIdx.x / ATTN_GROUP;
    const long total = long(N) * L * heads;
    const bool active = query < total;
    const long qq = active ? query : 0;
    const int h = int(qq % heads);
    const long tok = qq / heads;  // n * L + l
    const int l = int(tok % L), n = int(tok / L), b = n / frames;
    const long qoff = tok * C + long(h) * D;

    float qr[DPT], acc[DPT];
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * ATTN_GROUP + s;
        qr[i] = d < D ? ld(q, qoff + d) * scale : 0.0f;
        acc[i] = 0.0f;
    }
    float m = -INFINITY, lsum = 0.0f;
    for (int g = 0; g < frames; g++) {
        const long koff = (long(b * frames + g) * L + l) * C + long(h) * D;
        float p = 0.0f;
#pragma unroll
        for (int i = 0; i < DPT; i++) {
            int d = i * ATTN_GROUP + s;
            if (d < D) p += qr[i] * ld(k, koff + d);
        }
        p += __shfl_xor_sync(0xffffffffu, p, 1);
        p += __shfl_xor_sync(0xffffffffu, p, 2);
        float mnew = fmaxf(m, p);
        float corr = expf(m - mnew), e = expf(p - mnew);
        lsum = lsum * corr + e;
#pragma unroll
        for (int i = 0; i < DPT; i++) {
            int d = i * ATTN_GROUP + s;
            acc[i] = acc[i] * corr + (d < D ? e * ld(v, koff + d) : 0.0f);
        }
        m = mnew;
    }
    if (!active) return;
    float inv = 1.0f / lsum;
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * ATTN_GROUP + s;
        if (d < D) st(out, qoff + d, acc[i] * inv);
    }
}

}  // namespace tav

#define TAV_ATTENTION(DM, T, TN)                                                                             \
    extern "C" __global__ void __launch_bounds__(128)                                                       \
        attention_d##DM##_##TN(const T* q, const T* k, const T* v, T* out, int kind, int frames, int heads,  \
                               int D, int Lq, int lkv, int nkeys, int C, float scale) {                      \
        tav::attention_tiled<DM, T>(q, k, v, out, kind, frames, heads, D, Lq, lkv, nkeys, C, scale);         \
    }                                                                                                        \
    TAV_EXPORT(attention_d##DM##_##TN)                                                                       \
    extern "C" __global__ void __launch_bounds__(128)                                                       \
        attention_temporal_d##DM##_##TN(const T* q, const T* k, const T* v, T* out, int frames, int heads,   \
                                        int D, int N, int L, int C, float scale) {                           \
        tav::attention_temporal<DM, T>(q, k, v, out, frames, heads, D, N, L, C, scale);                      \
    }                                                                                                        \
    TAV_EXPORT(attention_temporal_d##DM##_##TN)

#define TAV_ATTENTION_TYPES(DM) TAV_ATTENTION(DM, float, f32) TAV_ATTENTION(DM, f16, f16) TAV_ATTENTION(DM, bf16, bf16)

TAV_ATTENTION_TYPES(8)
TAV_ATTENTION_TYPES(16)
TAV_ATTENTION_TYPES(32)
TAV_ATTENTION_TYPES(40)
TAV_ATTENTION_TYPES(64)
TAV_ATTENTION_TYPES(80)
TAV_ATTENTION_TYPES(128)
TAV_ATTENTION_TYPES(160)
