// Attention backward, FlashAttention-2 style, templated on the storage type T of q, k, v, dO and the gradients
// (float, f16, bf16; fp32 arithmetic, scratch statistics fp32): nothing of the forward pass is stored, the softmax is
// recomputed from q and k. Two race-free phases per call:
//   query phase (one block per 32 queries of an (image, head)): pass 1 recomputes the row's log-sum-exp and
//     D = sum_j P_j dP_j (= dO . O) with an online rescale; pass 2 forms dS = P (dP - D) and dQ = scale dS K.
//     lse and D go to stats [queries][2] for the key phase.
//   key phase (one block per 32 keys of a (key image, head)): the block owns dK and dV of its keys and loops over
//     every query image that read them (all frames for the frame-0 keys of sparse-causal attention, every frame
//     of the batch item for cross attention; twice where a frame reads a key image twice), recomputing
//     P = exp(scale q.k - lse): dV += P dO, dK += scale dS Q. No atomics, so results are deterministic.
// Layout and thread split as the forward kernels (attention.cu): groups of 4 threads per query or key, thread
// s of a group owning dimensions s, s+4, ...; tiles of 32 rows staged in shared memory. Temporal attention has
// its own pair of kernels (F keys per query, read from global memory).
#include "attention_keys.cuh"

namespace tavg {

using tav::ld;
using tav::st;

constexpr int AG_THREADS = 128;
constexpr int AG_GROUP = 4;
constexpr int AG_ROWS = AG_THREADS / AG_GROUP;  // queries (or keys) per block
constexpr int AG_TILE = 32;                     // rows per shared-memory tile

using tav::ATTN_CAUSAL;
using tav::ATTN_CROSS;
using tav::ATTN_SPARSE_CAUSAL;
using tav::key_reader;
using tav::key_source;

__device__ __forceinline__ float group_sum(float p) {
    p += __shfl_xor_sync(0xffffffffu, p, 1);
    p += __shfl_xor_sync(0xffffffffu, p, 2);
    return p;
}

// The two dot products every backward pass needs for one (query, key) pair — the score q·k and dO·v — over this
// thread's DPT strided elements of the head, summed over its group of AG_GROUP lanes. From a shared tile row:
template <int DPT>
__device__ __forceinline__ void group_dots(const float* x, const float* y, const float* xrow, const float* yrow, int s,
                                           float& a, float& b) {
    a = 0.0f;
    b = 0.0f;
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        a += x[i] * xrow[i * AG_GROUP + s];
        b += y[i] * yrow[i * AG_GROUP + s];
    }
    a = group_sum(a);
    b = group_sum(b);
}

// ... and straight from global memory at offset off (head elements d < D only).
template <int DPT, typename T>
__device__ __forceinline__ void group_dots_global(const float* x, const float* y, const T* xsrc, const T* ysrc, long off,
                                                  int D, int s, float& a, float& b) {
    a = 0.0f;
    b = 0.0f;
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * AG_GROUP + s;
        if (d < D) { a += x[i] * ld(xsrc, off + d); b += y[i] * ld(ysrc, off + d); }
    }
    a = group_sum(a);
    b = group_sum(b);
}

template <int DMAX, typename T>
__device__ __forceinline__ void load_kv_tile(float (*ks)[DMAX], float (*vs)[DMAX], const T* k, const T* v,
                                             int kind, int n, int frames, int lkv, int kend, int t0, int C, int h,
                                             int D) {
    for (int e = threadIdx.x; e < AG_TILE * DMAX; e += AG_THREADS) {
        int r = e / DMAX, d = e - r * DMAX, j = t0 + r;
        float kv = 0.0f, vv = 0.0f;
        if (d < D && j < kend) {
            int img, row;
            key_source(kind, n, frames, lkv, j, img, row);
            long off = (long(img) * lkv + row) * C + long(h) * D + d;
            kv = ld(k, off);
            vv = ld(v, off);
        }
        ks[r][d] = kv;
        vs[r][d] = vv;
    }
}

template <int DMAX, typename T>
__device__ __forceinline__ void attention_bwd_query(const T* __restrict__ q, const T* __restrict__ k,
                                                    const T* __restrict__ v, const T* __restrict__ dO,
                                                    T* __restrict__ dQ, float* __restrict__ stats, int kind,
                                                    int frames, int heads, int D, int Lq, int lkv, int nkeys, int C,
                                                    float scale) {
    constexpr int DPT = DMAX / AG_GROUP;
    __shared__ float ks[AG_TILE][DMAX];
    __shared__ float vs[AG_TILE][DMAX];
    const int n = blockIdx.y / heads, h = blockIdx.y - n * heads;
    const int s = threadIdx.x & (AG_GROUP - 1);
    const int qi = blockIdx.x * AG_ROWS + threadIdx.x / AG_GROUP;
    const bool active = qi < Lq;
    const long qoff = (long(n) * Lq + (active ? qi : 0)) * C + long(h) * D;

    float qr[DPT], orow[DPT], dq[DPT];
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * AG_GROUP + s;
        qr[i] = d < D ? ld(q, qoff + d) * scale : 0.0f;
        orow[i] = d < D ? ld(dO, qoff + d) : 0.0f;
        dq[i] = 0.0f;
    }
    int kend = nkeys;
    if (kind == ATTN_CAUSAL) kend = min(nkeys, int(blockIdx.x) * AG_ROWS + AG_ROWS);

    // pass 1: m, l (softmax normaliser) and D = sum_j p_j dp_j / l, rescaled online
    float m = -INFINITY, l = 0.0f, dsum = 0.0f;
    for (int t0 = 0; t0 < kend; t0 += AG_TILE) {
        __syncthreads();
        load_kv_tile<DMAX, T>(ks, vs, k, v, kind, n, frames, lkv, kend, t0, C, h, D);
        __syncthreads();
        float sc[AG_TILE], dp[AG_TILE];
        float tmax = -INFINITY;
#pragma unroll
        for (int r = 0; r < AG_TILE; r++) {
            float a, b;
            group_dots<DPT>(qr, orow, ks[r], vs[r], s, a, b);
            int j = t0 + r;
            bool masked = j >= kend || (kind == ATTN_CAUSAL && j > qi);
            sc[r] = masked ? -INFINITY : a;
            dp[r] = b;
            tmax = fmaxf(tmax, sc[r]);
        }
        if (tmax == -INFINITY) continue;  // uniform per query group; the loop head still syncs
        float mnew = fmaxf(m, tmax), corr = expf(m - mnew);
        l *= corr;
        dsum *= corr;
#pragma unroll
        for (int r = 0; r < AG_TILE; r++) {
            float p = expf(sc[r] - mnew);
            l += p;
            dsum += p * dp[r];
        }
        m = mnew;
    }
    const float lse = m + logf(l), dd = dsum / l;

    // pass 2: dS = P (dP - D); dQ = scale dS K
    for (int t0 = 0; t0 < kend; t0 += AG_TILE) {
        __syncthreads();
        load_kv_tile<DMAX, T>(ks, vs, k, v, kind, n, frames, lkv, kend, t0, C, h, D);
        __syncthreads();
#pragma unroll 4
        for (int r = 0; r < AG_TILE; r++) {
            float a, b;
            group_dots<DPT>(qr, orow, ks[r], vs[r], s, a, b);
            int j = t0 + r;
            bool masked = j >= kend || (kind == ATTN_CAUSAL && j > qi);
            float ds = masked ? 0.0f : expf(a - lse) * (b - dd);
#pragma unroll
            for (int i = 0; i < DPT; i++) dq[i] += ds * ks[r][i * AG_GROUP + s];
        }
    }
    if (!active) return;
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * AG_GROUP + s;
        if (d < D) st(dQ, qoff + d, dq[i] * scale);
    }
    if (s == 0) {
        long row = (long(n) * heads + h) * Lq + qi;
        stats[row * 2] = lse;
        stats[row * 2 + 1] = dd;
    }
}

template <int DMAX, typename T>
__device__ __forceinline__ void attention_bwd_key(const T* __restrict__ q, const T* __restrict__ k,
                                                  const T* __restrict__ v, const T* __restrict__ dO,
                                                  const float* __restrict__ stats, T* __restrict__ dK,
                                                  T* __restrict__ dV, int kind, int frames, int heads, int D,
                                                  int Lq, int lkv, int C, float scale) {
    constexpr int DPT = DMAX / AG_GROUP;
    __shared__ float qs[AG_TILE][DMAX];
    __shared__ float os[AG_TILE][DMAX];
    __shared__ float ls[AG_TILE], dds[AG_TILE];
    const int kimg = blockIdx.y / heads, h = blockIdx.y - kimg * heads;
    const int s = threadIdx.x & (AG_GROUP - 1);
    const int j0 = blockIdx.x * AG_ROWS;
    const int j = j0 + threadIdx.x / AG_GROUP;
    const bool active = j < lkv;
    const long koff = (long(kimg) * lkv + (active ? j : 0)) * C + long(h) * D;

    float kr[DPT], vr[DPT], dk[DPT], dv[DPT];
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * AG_GROUP + s;
        kr[i] = d < D ? ld(k, koff + d) * scale : 0.0f;
        vr[i] = d < D ? ld(v, koff + d) : 0.0f;
        dk[i] = 0.0f;
        dv[i] = 0.0f;
    }
    const bool causal = kind == ATTN_CAUSAL;
    const int readers = (kind == ATTN_SPARSE_CAUSAL || kind == ATTN_CROSS) ? frames : 1;
    for (int it = 0; it < readers; it++) {
        int img;
        const int mult = key_reader(kind, frames, kimg, it, img);
        if (mult == 0) continue;  // uniform over the block
        const float fm = float(mult);
        const float* sq = stats + (long(img) * heads + h) * Lq * 2;
        for (int t0 = causal ? j0 : 0; t0 < Lq; t0 += AG_TILE) {
            __syncthreads();
            for (int e = threadIdx.x; e < AG_TILE * DMAX; e += AG_THREADS) {
                int r = e / DMAX, d = e - r * DMAX, i = t0 + r;
                float qv = 0.0f, ov = 0.0f;
                if (d < D && i < Lq) {
                    long off = (long(img) * Lq + i) * C + long(h) * D + d;
                    qv = ld(q, off);
                    ov = ld(dO, off);
                }
                qs[r][d] = qv;
                os[r][d] = ov;
            }
            if (threadIdx.x < AG_TILE) {
                int i = t0 + threadIdx.x;
                ls[threadIdx.x] = i < Lq ? sq[long(i) * 2] : 0.0f;
                dds[threadIdx.x] = i < Lq ? sq[long(i) * 2 + 1] : 0.0f;
            }
            __syncthreads();
#pragma unroll 4
            for (int r = 0; r < AG_TILE; r++) {
                float a, b;
                group_dots<DPT>(kr, vr, qs[r], os[r], s, a, b);
                int qi = t0 + r;
                bool valid = qi < Lq && (!causal || qi >= j);
                float p = valid ? expf(a - ls[r]) : 0.0f;
                float ds = p * (b - dds[r]) * fm;
                p *= fm;
#pragma unroll
                for (int i = 0; i < DPT; i++) {
                    dv[i] += p * os[r][i * AG_GROUP + s];
                    dk[i] += ds * qs[r][i * AG_GROUP + s];
                }
            }
        }
    }
    if (!active) return;
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * AG_GROUP + s;
        if (d >= D) continue;
        if (dK) st(dK, koff + d, dk[i] * scale);
        if (dV) st(dV, koff + d, dv[i]);
    }
}

// Temporal attention: query (n, l, h) sees key (b*F + g, l, h) for g < F. Query index = (n*L + l)*heads + h;
// stats use the same index. Groups of 4 threads per query (or key), F rows read from global memory.
template <int DMAX, typename T>
__device__ __forceinline__ void attention_bwd_temporal_query(const T* __restrict__ q, const T* __restrict__ k,
                                                             const T* __restrict__ v,
                                                             const T* __restrict__ dO, T* __restrict__ dQ,
                                                             float* __restrict__ stats, int frames, int heads, int D,
                                                             int N, int L, int C, float scale) {
    constexpr int DPT = DMAX / AG_GROUP;
    const int s = threadIdx.x & (AG_GROUP - 1);
    const long query = long(blockIdx.x) * AG_ROWS + threadIdx.x / AG_GROUP;
    const bool active = query < long(N) * L * heads;
    const long qq = active ? query : 0;
    const int h = int(qq % heads);
    const long tok = qq / heads;
    const int l = int(tok % L), n = int(tok / L), b = n / frames;
    const long qoff = tok * C + long(h) * D;
    float qr[DPT], orow[DPT], dq[DPT];
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * AG_GROUP + s;
        qr[i] = d < D ? ld(q, qoff + d) * scale : 0.0f;
        orow[i] = d < D ? ld(dO, qoff + d) : 0.0f;
        dq[i] = 0.0f;
    }
    float m = -INFINITY, lsum = 0.0f, dsum = 0.0f;
    for (int g = 0; g < frames; g++) {
        const long koff = (long(b * frames + g) * L + l) * C + long(h) * D;
        float a, bb;
        group_dots_global<DPT>(qr, orow, k, v, koff, D, s, a, bb);
        float mnew = fmaxf(m, a), corr = expf(m - mnew), e = expf(a - mnew);
        lsum = lsum * corr + e;
        dsum = dsum * corr + e * bb;
        m = mnew;
    }
    const float lse = m + logf(lsum), dd = dsum / lsum;
    for (int g = 0; g < frames; g++) {
        const long koff = (long(b * frames + g) * L + l) * C + long(h) * D;
        float a, bb;
        group_dots_global<DPT>(qr, orow, k, v, koff, D, s, a, bb);
        float ds = expf(a - lse) * (bb - dd);
#pragma unroll
        for (int i = 0; i < DPT; i++) {
            int d = i * AG_GROUP + s;
            if (d < D) dq[i] += ds * ld(k, koff + d);
        }
    }
    if (!active) return;
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * AG_GROUP + s;
        if (d < D) st(dQ, qoff + d, dq[i] * scale);
    }
    if (s == 0) { stats[qq * 2] = lse; stats[qq * 2 + 1] = dd; }
}

template <int DMAX, typename T>
__device__ __forceinline__ void attention_bwd_temporal_key(const T* __restrict__ q, const T* __restrict__ k,
                                                           const T* __restrict__ v, const T* __restrict__ dO,
                                                           const float* __restrict__ stats, T* __restrict__ dK,
                                                           T* __restrict__ dV, int frames, int heads, int D,
                                                           int N, int L, int C, float scale) {
    constexpr int DPT = DMAX / AG_GROUP;
    const int s = threadIdx.x & (AG_GROUP - 1);
    const long key = long(blockIdx.x) * AG_ROWS + threadIdx.x / AG_GROUP;
    const bool active = key < long(N) * L * heads;
    const long kk = active ? key : 0;
    const int h = int(kk % heads);
    const long tok = kk / heads;
    const int l = int(tok % L), n = int(tok / L), b = n / frames;
    const long koff = tok * C + long(h) * D;
    float kr[DPT], vr[DPT], dk[DPT], dv[DPT];
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * AG_GROUP + s;
        kr[i] = d < D ? ld(k, koff + d) * scale : 0.0f;
        vr[i] = d < D ? ld(v, koff + d) : 0.0f;
        dk[i] = 0.0f;
        dv[i] = 0.0f;
    }
    for (int f = 0; f < frames; f++) {
        const long qtok = long(b * frames + f) * L + l;
        const long qoff = qtok * C + long(h) * D;
        float a, bb;
        group_dots_global<DPT>(kr, vr, q, dO, qoff, D, s, a, bb);
        const long srow = (qtok * heads + h) * 2;
        float p = expf(a - stats[srow]);
        float ds = p * (bb - stats[srow + 1]);
#pragma unroll
        for (int i = 0; i < DPT; i++) {
            int d = i * AG_GROUP + s;
            if (d < D) { dv[i] += p * ld(dO, qoff + d); dk[i] += ds * ld(q, qoff + d); }
        }
    }
    if (!active) return;
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = i * AG_GROUP + s;
        if (d >= D) continue;
        if (dK) st(dK, koff + d, dk[i] * scale);
        if (dV) st(dV, koff + d, dv[i]);
    }
}

}  // namespace tavg

#define TAV_ATTENTION_GRAD(DM, T, TN)                                                                        \
    extern "C" __global__ void __launch_bounds__(128)                                                       \
        attention_bwd_q_d##DM##_##TN(const T* q, const T* k, const T* v, const T* dO, T* dQ, float* stats,   \
                                     int kind, int frames, int heads, int D, int Lq, int lkv, int nkeys,     \
                                     int C, float scale) {                                                   \
        tavg::attention_bwd_query<DM, T>(q, k, v, dO, dQ, stats, kind, frames, heads, D, Lq, lkv, nkeys, C,  \
                                         scale);                                                             \
    }                                                                                                        \
    TAV_EXPORT(attention_bwd_q_d##DM##_##TN)                                                                 \
    extern "C" __global__ void __launch_bounds__(128)                                                       \
        attention_bwd_kv_d##DM##_##TN(const T* q, const T* k, const T* v, const T* dO, const float* stats,   \
                                      T* dK, T* dV, int kind, int frames, int heads, int D, int Lq, int lkv, \
                                      int C, float scale) {                                                  \
        tavg::attention_bwd_key<DM, T>(q, k, v, dO, stats, dK, dV, kind, frames, heads, D, Lq, lkv, C,       \
                                       scale);                                                               \
    }                                                                                                        \
    TAV_EXPORT(attention_bwd_kv_d##DM##_##TN)                                                                \
    extern "C" __global__ void __launch_bounds__(128)                                                       \
        attention_bwd_temporal_q_d##DM##_##TN(const T* q, const T* k, const T* v, const T* dO, T* dQ,        \
                                              float* stats, int frames, int heads, int D, int N, int L,      \
                                              int C, float scale) {                                          \
        tavg::attention_bwd_temporal_query<DM, T>(q, k, v, dO, dQ, stats, frames, heads, D, N, L, C, scale); \
    }                                                                                                        \
    TAV_EXPORT(attention_bwd_temporal_q_d##DM##_##TN)                                                        \
    extern "C" __global__ void __launch_bounds__(128)                                                       \
        attention_bwd_temporal_kv_d##DM##_##TN(const T* q, const T* k, const T* v, const T* dO,              \
                                               const float* stats, T* dK, T* dV, int frames, int heads,      \
                                               int D, int N, int L, int C, float scale) {                    \
        tavg::attention_bwd_temporal_key<DM, T>(q, k, v, dO, stats, dK, dV, frames, heads, D, N, L, C,       \
                                                scale);                                                      \
    }                                                                                                        \
    TAV_EXPORT(attention_bwd_temporal_kv_d##DM##_##TN)

#define TAV_ATTENTION_GRAD_TYPES(DM) \
    TAV_ATTENTION_GRAD(DM, float, f32) TAV_ATTENTION_GRAD(DM, f16, f16) TAV_ATTENTION_GRAD(DM, bf16, bf16)

TAV_ATTENTION_GRAD_TYPES(8)
TAV_ATTENTION_GRAD_TYPES(16)
TAV_ATTENTION_GRAD_TYPES(32)
TAV_ATTENTION_GRAD_TYPES(40)
TAV_ATTENTION_GRAD_TYPES(64)
TAV_ATTENTION_GRAD_TYPES(80)
TAV_ATTENTION_GRAD_TYPES(128)
TAV_ATTENTION_GRAD_TYPES(160)
