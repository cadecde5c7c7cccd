// GroupNorm and LayerNorm backward, affine frozen, templated on the storage type T of x, dy, gamma, beta and dx
// (float, f16, bf16; statistics and sums fp32/double). With x^ = (x - mean) rstd and g = gamma dy (dy taken
// through the SiLU after the affine first when fused: a = gamma x^ + beta, da = dy s(a) (1 + a (1 - s(a)))):
//   dx = rstd (g - mean(g) - x^ mean(g x^)), the means over the normalised set.
// GroupNorm recomputes mean and rstd with the forward's groupnorm_partial / groupnorm_finalize kernels, then:
//   groupnorm_bwd_partial_T: grid (S, V*G), block s of group vg sums g and g x^ over chunk s (fp32 per block);
//   groupnorm_bwd_finalize:  one thread per group adds its S partials in double, in order -> (mean g, mean g x^);
//   groupnorm_bwd_apply_T:   element-wise dx (dx may alias dy).
// LayerNorm: one warp per row, everything recomputed from the row.
#include "common.cuh"

namespace tavg {

using tav::ld;
using tav::st;

constexpr int GNB_THREADS = 256;

// g = gamma dy, through the SiLU derivative when silu_on.
__device__ __forceinline__ float norm_grad_g(float dy, float xh, float gamma, float beta, int silu_on) {
    if (silu_on) {
        float a = xh * gamma + beta;
        float sg = 1.0f / (1.0f + expf(-a));
        dy *= sg * (1.0f + a * (1.0f - sg));
    }
    return dy * gamma;
}

template <typename T>
__device__ __forceinline__ void gn_bwd_partial(const T* x, const T* dy, const float* stats, const T* gamma,
                                               const T* beta, float* partials, int C, int G, long HW, int P,
                                               long chunk, int silu_on) {
    __shared__ float sh[2][32];
    const int S = gridDim.x, s = blockIdx.x, vg = blockIdx.y;
    const int vid = vg / G, g = vg - vid * G, cg = C / G;
    const long total = long(P) * HW * cg;
    const long begin = long(s) * chunk, end = min(total, begin + chunk);
    const long base = long(vid) * P * HW * C + long(g) * cg;
    const float mean = stats[vg * 2], rstd = stats[vg * 2 + 1];
    float s1 = 0.0f, s2 = 0.0f;
    for (long e = begin + threadIdx.x; e < end; e += GNB_THREADS) {
        long pix = e / cg;
        int cl = int(e - pix * cg), c = g * cg + cl;
        long i = base + pix * C + cl;
        float xh = (ld(x, i) - mean) * rstd;
        float gg = norm_grad_g(ld(dy, i), xh, ld(gamma, c), ld(beta, c), silu_on);
        s1 += gg;
        s2 += gg * xh;
    }
    s1 = tav::block_sum(s1, sh[0]);
    s2 = tav::block_sum(s2, sh[1]);
    if (threadIdx.x == 0) {
        partials[(long(vg) * S + s) * 2] = s1;
        partials[(long(vg) * S + s) * 2 + 1] = s2;
    }
}

template <typename T>
__device__ __forceinline__ void gn_bwd_apply(const T* x, const T* dy, const float* stats, const float* means,
                                             const T* gamma, const T* beta, T* dx, long total, int C, int G,
                                             long HW, int P, int silu_on) {
    const int cg = C / G;
    for (long i = tav::global_thread(); i < total; i += tav::grid_threads()) {
        long pix = i / C;
        int c = int(i - pix * C);
        long vg = long(pix / (HW * P)) * G + c / cg;
        float rstd = stats[vg * 2 + 1];
        float xh = (ld(x, i) - stats[vg * 2]) * rstd;
        float gg = norm_grad_g(ld(dy, i), xh, ld(gamma, c), ld(beta, c), silu_on);
        st(dx, i, rstd * (gg - means[vg * 2] - xh * means[vg * 2 + 1]));
    }
}

// LayerNorm backward over the last dimension: one warp per row (blocks of 4 warps); dx may alias dy.
template <typename T>
__device__ __forceinline__ void ln_bwd(const T* x, const T* gamma, const T* dy, T* dx, long rows, int C, float eps) {
    long row = long(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;  // whole warps leave together
    const T* xr = x + row * C;
    const T* yr = dy + row * C;
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += ld(xr, c);
    float mean = tav::warp_sum(s) / C;
    float q = 0.0f;
    for (int c = lane; c < C; c += 32) { float d = ld(xr, c) - mean; q += d * d; }
    float rstd = rsqrtf(tav::warp_sum(q) / C + eps);
    float s1 = 0.0f, s2 = 0.0f;
    for (int c = lane; c < C; c += 32) {
        float g = ld(yr, c) * ld(gamma, c);
        s1 += g;
        s2 += g * (ld(xr, c) - mean) * rstd;
    }
    float m1 = tav::warp_sum(s1) / C, m2 = tav::warp_sum(s2) / C;
    for (int c = lane; c < C; c += 32) {
        float xh = (ld(xr, c) - mean) * rstd;
        st(dx, row * C + c, rstd * (ld(yr, c) * ld(gamma, c) - m1 - xh * m2));
    }
}

}  // namespace tavg

extern "C" __global__ void __launch_bounds__(256)
    groupnorm_bwd_finalize(const float* partials, float* means, int VG, int S, double count) {
    int vg = int(tav::global_thread());
    if (vg >= VG) return;
    double a = 0.0, b = 0.0;
    for (int s = 0; s < S; s++) {
        a += partials[(long(vg) * S + s) * 2];
        b += partials[(long(vg) * S + s) * 2 + 1];
    }
    means[vg * 2] = float(a / count);
    means[vg * 2 + 1] = float(b / count);
}
TAV_EXPORT(groupnorm_bwd_finalize)

#define TAV_NORM_GRAD(T, TN)                                                                                 \
    extern "C" __global__ void __launch_bounds__(256)                                                       \
        groupnorm_bwd_partial_##TN(const T* x, const T* dy, const float* stats, const T* gamma,              \
                                   const T* beta, float* partials, int C, int G, long HW, int P, long chunk, \
                                   int silu_on) {                                                            \
        tavg::gn_bwd_partial<T>(x, dy, stats, gamma, beta, partials, C, G, HW, P, chunk, silu_on);           \
    }                                                                                                        \
    TAV_EXPORT(groupnorm_bwd_partial_##TN)                                                                   \
    extern "C" __global__ void groupnorm_bwd_apply_##TN(const T* x, const T* dy, const float* stats,         \
                                                        const float* means, const T* gamma, const T* beta,   \
                                                        T* dx, long total, int C, int G, long HW, int P,     \
                                                        int silu_on) {                                       \
        tavg::gn_bwd_apply<T>(x, dy, stats, means, gamma, beta, dx, total, C, G, HW, P, silu_on);            \
    }                                                                                                        \
    TAV_EXPORT(groupnorm_bwd_apply_##TN)                                                                     \
    extern "C" __global__ void __launch_bounds__(128) layernorm_bwd_##TN(const T* x, const T* gamma,          \
                                                                        const T* dy, T* dx, long rows,       \
                                                                        int C, float eps) {                  \
        tavg::ln_bwd<T>(x, gamma, dy, dx, rows, C, eps);                                                     \
    }                                                                                                        \
    TAV_EXPORT(layernorm_bwd_##TN)

TAV_NORM_GRAD(float, f32)
TAV_NORM_GRAD(f16, f16)
TAV_NORM_GRAD(bf16, bf16)
