// GroupNorm over channels-last images x [N, H, W, C] with statistics pooled over P consecutive images
// (P = 1: per image; P = frames: per video, as ResnetBlock3D sees its 5D tensor), then the affine, then SiLU
// when asked. Three launches so large groups (a video of 24 frames at 64x64 has millions of elements per
// group) still fill the GPU:
//   groupnorm_partial: grid (S, V*G); block s of group vg reduces chunk s into (count, mean, M2) (Welford);
//   groupnorm_finalize: one thread per group merges its S partials into (mean, rstd);
//   groupnorm_apply: element-wise normalise + affine (+ SiLU); in place allowed.
#include "common.cuh"

namespace tav {

constexpr int GN_THREADS = 256;

template <typename T>
__device__ __forceinline__ void gn_partial(const T* __restrict__ x, float* __restrict__ partials, int C, int G,
                                           long HW, int P, long chunk) {
    __shared__ float sh[3][GN_THREADS / 32];
    const int S = gridDim.x, s = blockIdx.x, vg = blockIdx.y;
    const int v = vg / G, g = vg - v * G, cg = C / G;
    const long total = long(P) * HW * cg;
    const long begin = long(s) * chunk, end = min(total, begin + chunk);
    const long base = long(v) * P * HW * C + long(g) * cg;
    Welford w{0.0f, 0.0f, 0.0f};
    for (long e = begin + threadIdx.x; e < end; e += GN_THREADS) {
        long pix = e / cg;
        float val = ld(x, base + pix * C + (e - pix * cg));
        w.n += 1.0f;
        float d = val - w.mean;
        w.mean += d / w.n;
        w.m2 += d * (val - w.mean);
    }
    w = warp_welford(w);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) { sh[0][warp] = w.n; sh[1][warp] = w.mean; sh[2][warp] = w.m2; }
    __syncthreads();
    if (threadIdx.x == 0) {
        Welford t{0.0f, 0.0f, 0.0f};
        for (int i = 0; i < GN_THREADS / 32; i++) t = welford_merge(t, Welford{sh[0][i], sh[1][i], sh[2][i]});
        float* out = partials + (long(vg) * S + s) * 3;
        out[0] = t.n; out[1] = t.mean; out[2] = t.m2;
    }
}

template <typename T>
__device__ __forceinline__ void gn_apply(const T* x, const float* __restrict__ stats, const T* __restrict__ gamma,
                                         const T* __restrict__ beta, T* out, long total, int C, int G, long HW,
                                         int P, int silu_on) {
    const int cg = C / G;
    for (long i = global_thread(); i < total; i += grid_threads()) {
        long pix = i / C;
        int c = int(i - pix * C);
        int v = int(pix / (HW * P));
        long vg = long(v) * G + c / cg;
        float y = (ld(x, i) - stats[vg * 2]) * stats[vg * 2 + 1] * ld(gamma, c) + ld(beta, c);
        st(out, i, silu_on ? silu(y) : y);
    }
}

}  // namespace tav

extern "C" __global__ void __launch_bounds__(256) groupnorm_finalize(const float* partials, float* stats, int VG,
                                                                    int S, float eps) {
    int vg = int(tav::global_thread());
    if (vg >= VG) return;
    tav::Welford t{0.0f, 0.0f, 0.0f};
    for (int s = 0; s < S; s++) {
        const float* p = partials + (long(vg) * S + s) * 3;
        t = tav::welford_merge(t, tav::Welford{p[0], p[1], p[2]});
    }
    float var = t.n > 0.0f ? t.m2 / t.n : 0.0f;
    stats[vg * 2] = t.mean;
    stats[vg * 2 + 1] = rsqrtf(var + eps);
}
TAV_EXPORT(groupnorm_finalize)

#define TAV_GROUPNORM(T, TN)                                                                                 \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        groupnorm_partial_##TN(const T* x, float* partials, int C, int G, long HW, int P, long chunk) {      \
        tav::gn_partial<T>(x, partials, C, G, HW, P, chunk);                                                 \
    }                                                                                                        \
    TAV_EXPORT(groupnorm_partial_##TN)                                                                       \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        groupnorm_apply_##TN(const T* x, const float* stats, const T* gamma, const T* beta, T* out,          \
                             long total, int C, int G, long HW, int P, int silu_on) {                        \
        tav::gn_apply<T>(x, stats, gamma, beta, out, total, C, G, HW, P, silu_on);                           \
    }                                                                                                        \
    TAV_EXPORT(groupnorm_apply_##TN)

TAV_GROUPNORM(float, f32)
TAV_GROUPNORM(f16, f16)
TAV_GROUPNORM(bf16, bf16)
