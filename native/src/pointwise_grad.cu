// Backward of the point-wise and data-movement ops (templated on the storage type: _f32, _f16, _bf16; fp32
// arithmetic), the squared norm of fp32 gradients and the fused AdamW step on fp32 (master) parameters. Grid-stride loops over long counts, as elementwise.cu.
#include "common.cuh"

namespace tavg {

// Round-to-nearest float operations the compiler may not fuse into FMAs, so the AdamW step rounds exactly as
// PyTorch's (and the CPU backend's) sequence of tensor ops does.
#ifdef TAV_EMU
inline float rn_mul(float a, float b) { return a * b; }
inline float rn_add(float a, float b) { return a + b; }
inline float rn_sub(float a, float b) { return a - b; }
inline float rn_div(float a, float b) { return a / b; }
inline float rn_sqrt(float a) { return std::sqrt(a); }
#else
__device__ __forceinline__ float rn_mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float rn_add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float rn_sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float rn_div(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ float rn_sqrt(float a) { return __fsqrt_rn(a); }
#endif

// d/dx of x s(kx) = s(kx) (1 + kx (1 - s(kx))).
__device__ __forceinline__ float sigmoid_product_grad(float x, float k) {
    float kx = k * x, s = 1.0f / (1.0f + expf(-kx));
    return s * (1.0f + kx * (1.0f - s));
}

__device__ __forceinline__ float normal_cdf(float x) { return 0.5f * (1.0f + erff(x * 0.70710678118654752f)); }
__device__ __forceinline__ float normal_pdf(float x) { return expf(-0.5f * x * x) * 0.39894228040143268f; }

// Sum over the block in double (blockDim.x a multiple of 32); every thread gets the result.
__device__ __forceinline__ double block_sum_d(double v, double* scratch32) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if (lane == 0) scratch32[warp] = v;
    __syncthreads();
    double t = lane < nw ? scratch32[lane] : 0.0;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
    return t;
}

}  // namespace tavg

#define TAVG_FOR(i, n) for (long i = tav::global_thread(); i < (n); i += tav::grid_threads())

namespace tavg {

using tav::ld;
using tav::st;

// dx = dy act'(x) for SILU (0), exact GELU (1), QUICK_GELU (2), EXP (3); dx may alias dy.
template <typename T>
__device__ __forceinline__ void activation_bwd(const T* x, const T* dy, T* dx, int act, long n) {
    TAVG_FOR(i, n) {
        float v = ld(x, i), d;
        if (act == 0) d = sigmoid_product_grad(v, 1.0f);
        else if (act == 1) d = normal_cdf(v) + v * normal_pdf(v);
        else if (act == 3) d = expf(v);
        else d = sigmoid_product_grad(v, 1.702f);
        st(dx, i, ld(dy, i) * d);
    }
}

// x [rows, 2D] = (a, gate), y = a gelu(gate): da = dy gelu(gate), dgate = dy a gelu'(gate).
template <typename T>
__device__ __forceinline__ void geglu_bwd(const T* x, const T* dy, T* dx, long rows, int D) {
    TAVG_FOR(i, rows * D) {
        long r = i / D;
        long d = i - r * D;
        float a = ld(x, r * 2 * D + d), gate = ld(x, r * 2 * D + D + d), g = ld(dy, i);
        float phi = normal_cdf(gate);
        st(dx, r * 2 * D + d, g * (gate * phi));
        st(dx, r * 2 * D + D + d, g * a * (gate * normal_pdf(gate) + phi));
    }
}

// Nearest upsampling backward: input pixel iy collects the output rows oy in [ceil(iy Ho / H), ceil((iy+1) Ho / H)),
// likewise the columns (the outputs whose floor(o in / out) is iy). One thread per input element: no races.
template <typename T>
__device__ __forceinline__ void upsample_nearest_bwd(const T* dy, T* dx, int N, int H, int W, int C, int Ho, int Wo) {
    long total = long(N) * H * W * C;
    TAVG_FOR(i, total) {
        long r = i;
        int c = int(r % C); r /= C;
        int ix = int(r % W); r /= W;
        int iy = int(r % H);
        long n = r / H;
        int oy0 = int((long(iy) * Ho + H - 1) / H), oy1 = int((long(iy + 1) * Ho + H - 1) / H);
        int ox0 = int((long(ix) * Wo + W - 1) / W), ox1 = int((long(ix + 1) * Wo + W - 1) / W);
        float s = 0.0f;
        for (int oy = oy0; oy < oy1; oy++)
            for (int ox = ox0; ox < ox1; ox++) s += ld(dy, ((n * Ho + oy) * Wo + ox) * C + c);
        st(dx, i, s);
    }
}

// dOut [pixels, Ca + Cb] -> dA [pixels, Ca], dB [pixels, Cb] (a copy: no rounding).
template <typename T>
__device__ __forceinline__ void split_channels(const T* dout, T* da, T* db, long pixels, int Ca, int Cb) {
    int Co = Ca + Cb;
    TAVG_FOR(i, pixels * Co) {
        long p = i / Co;
        int c = int(i - p * Co);
        if (c < Ca) da[p * Ca + c] = dout[i];
        else db[p * Cb + (c - Ca)] = dout[i];
    }
}

template <typename T>
__device__ __forceinline__ void fill(T* out, float value, long n) {
    TAVG_FOR(i, n) st(out, i, value);
}

}  // namespace tavg

#define TAV_POINTWISE_GRAD(T, TN)                                                                            \
    extern "C" __global__ void activation_bwd_##TN(const T* x, const T* dy, T* dx, int act, long n) {        \
        tavg::activation_bwd<T>(x, dy, dx, act, n);                                                          \
    }                                                                                                        \
    TAV_EXPORT(activation_bwd_##TN)                                                                          \
    extern "C" __global__ void geglu_bwd_##TN(const T* x, const T* dy, T* dx, long rows, int D) {            \
        tavg::geglu_bwd<T>(x, dy, dx, rows, D);                                                              \
    }                                                                                                        \
    TAV_EXPORT(geglu_bwd_##TN)                                                                               \
    extern "C" __global__ void upsample_nearest_bwd_##TN(const T* dy, T* dx, int N, int H, int W, int C,     \
                                                         int Ho, int Wo) {                                   \
        tavg::upsample_nearest_bwd<T>(dy, dx, N, H, W, C, Ho, Wo);                                           \
    }                                                                                                        \
    TAV_EXPORT(upsample_nearest_bwd_##TN)                                                                    \
    extern "C" __global__ void split_channels_##TN(const T* dout, T* da, T* db, long pixels, int Ca, int Cb) { \
        tavg::split_channels<T>(dout, da, db, pixels, Ca, Cb);                                               \
    }                                                                                                        \
    TAV_EXPORT(split_channels_##TN)                                                                          \
    extern "C" __global__ void fill_##TN(T* out, float value, long n) { tavg::fill<T>(out, value, n); }      \
    TAV_EXPORT(fill_##TN)

TAV_POINTWISE_GRAD(float, f32)
TAV_POINTWISE_GRAD(f16, f16)
TAV_POINTWISE_GRAD(bf16, bf16)

// Stage 1 of the sum of squares: each thread squares and sums in double over a grid-stride range, each block
// reduces in a fixed tree -> partials[blockIdx.x]. The grid size is chosen from n alone, so the result does not
// depend on the device.
extern "C" __global__ void __launch_bounds__(256) sum_squares_partial_f32(const float* x, double* partials, long n) {
    __shared__ double sh[32];
    double s = 0.0;
    TAVG_FOR(i, n) {
        double v = x[i];
        s += v * v;
    }
    s = tavg::block_sum_d(s, sh);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}
TAV_EXPORT(sum_squares_partial_f32)

// Stage 1 over several fp32 tensors at once (every trainable gradient of a step in one launch): table holds
// `tensors` (device address, element count) pairs. Each thread sums in double over a grid-stride range of each
// tensor in turn, each block reduces in a fixed tree -> partials[blockIdx.x]; the grid is fixed by the caller, so
// the result is reproducible. In double, the square of any finite float is finite, so the sum is finite exactly
// when every element is: this is also the "all gradients finite" check of mixed-precision training.
extern "C" __global__ void __launch_bounds__(256) sum_squares_multi_f32(const long* table, int tensors,
                                                                       double* partials) {
    __shared__ double sh[32];
    double s = 0.0;
    for (int t = 0; t < tensors; t++) {
        const float* x = reinterpret_cast<const float*>(table[2 * t]);
        const long n = table[2 * t + 1];
        TAVG_FOR(i, n) {
            double v = x[i];
            s += v * v;
        }
    }
    s = tavg::block_sum_d(s, sh);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}
TAV_EXPORT(sum_squares_multi_f32)

// Stage 2 of the two-stage sums: one block adds the partials in a fixed order (the total is valid in thread 0).
__device__ __forceinline__ double sum_partials(const double* partials, int count, double* sh) {
    double s = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) s += partials[i];
    return tavg::block_sum_d(s, sh);
}

extern "C" __global__ void __launch_bounds__(256) sum_squares_final(const double* partials, double* out, int count) {
    __shared__ double sh[32];
    double s = sum_partials(partials, count, sh);
    if (threadIdx.x == 0) out[0] = s;
}
TAV_EXPORT(sum_squares_final)

// The AdamW update over a grid-stride range; both entry points below share it so they stay the same expression.
__device__ __forceinline__ void adamw_range(float* param, const float* grad, float* m, float* v, long n, float gradScale,
                                            float decay, float w1, float w2, float b2, float stepSize, float bc2Sqrt,
                                            float eps, int lerpLow) {
    using namespace tavg;
    TAVG_FOR(i, n) {
        float g = rn_mul(grad[i], gradScale);
        float p = rn_mul(param[i], decay);
        float mo = m[i];
        float mi = lerpLow ? fmaf(w1, rn_sub(g, mo), mo) : fmaf(rn_sub(w1, 1.0f), rn_sub(g, mo), g);
        float vi = rn_add(rn_mul(v[i], b2), rn_mul(rn_mul(w2, g), g));
        float denom = rn_add(rn_div(rn_sqrt(vi), bc2Sqrt), eps);
        p = rn_add(p, rn_div(rn_mul(stepSize, mi), denom));
        m[i] = mi;
        v[i] = vi;
        param[i] = p;
    }
}

// One AdamW step (torch.optim.AdamW, single tensor), with the scalars formed on the host as the CPU backend does:
//   g = grad gradScale; p *= decay (= 1 - lr wd); m = lerp(m, g, w1); v = v b2 + (w2 g) g;
//   p += stepSize m / (sqrt(v) / bc2Sqrt + eps)   (stepSize = -lr / (1 - b1^t), bc2Sqrt = sqrt(1 - b2^t)).
extern "C" __global__ void adamw_f32(float* param, const float* grad, float* m, float* v, long n, float gradScale,
                                     float decay, float w1, float w2, float b2, float stepSize, float bc2Sqrt,
                                     float eps, int lerpLow) {
    adamw_range(param, grad, m, v, n, gradScale, decay, w1, w2, b2, stepSize, bc2Sqrt, eps, lerpLow);
}
TAV_EXPORT(adamw_f32)

// ---- device-side scalars of a tuning step (captured in one CUDA graph; layout: runtime TuneScalars) ----
// The host writes the step's inputs (AdamW step size and sqrt(1 - b2^t), loss scale, ...) into `in` with one async
// copy before the replay; these kernels write the step's results into `out`, read back once after the step.

// MSE stage 1: sum of (p - q)^2 in double over a grid-stride range, one fixed tree per block -> partials.
#define TAV_MSE_PARTIAL(T, TN)                                                                                \
    extern "C" __global__ void __launch_bounds__(256) mse_partial_##TN(const T* p, const T* q, double* partials, \
                                                                       long n) {                              \
        __shared__ double sh[32];                                                                             \
        double s = 0.0;                                                                                       \
        TAVG_FOR(i, n) {                                                                                      \
            double d = (double)tav::ld(p, i) - (double)tav::ld(q, i);                                                 \
            s += d * d;                                                                                       \
        }                                                                                                     \
        s = tavg::block_sum_d(s, sh);                                                                         \
        if (threadIdx.x == 0) partials[blockIdx.x] = s;                                                       \
    }                                                                                                         \
    TAV_EXPORT(mse_partial_##TN)

TAV_MSE_PARTIAL(float, f32)
TAV_MSE_PARTIAL(f16, f16)
TAV_MSE_PARTIAL(bf16, bf16)

// MSE stage 2: one block adds the partials in a fixed order; loss = (float)(sum / n) -> out[0].
extern "C" __global__ void __launch_bounds__(256) mse_final(const double* partials, int count, long n, float* out) {
    __shared__ double sh[32];
    double s = sum_partials(partials, count, sh);
    if (threadIdx.x == 0) out[0] = (float)(s / (double)n);
}
TAV_EXPORT(mse_final)

// The sum of every element (Ops.sum: a loss term that stays on the device). Stage 1: each thread sums in double over
// a grid-stride range, each block in a fixed tree -> partials; stage 2: one block adds the partials in a fixed order
// and rounds once to T -> out[0]. The grid is chosen from n alone, so the result does not depend on the device.
#define TAV_SUM(T, TN)                                                                                        \
    extern "C" __global__ void __launch_bounds__(256) sum_partial_##TN(const T* x, double* partials, long n) { \
        __shared__ double sh[32];                                                                             \
        double s = 0.0;                                                                                       \
        TAVG_FOR(i, n) s += (double)tav::ld(x, i);                                                            \
        s = tavg::block_sum_d(s, sh);                                                                         \
        if (threadIdx.x == 0) partials[blockIdx.x] = s;                                                       \
    }                                                                                                         \
    TAV_EXPORT(sum_partial_##TN)                                                                              \
    extern "C" __global__ void __launch_bounds__(256) sum_final_##TN(const double* partials, int count, T* out) { \
        __shared__ double sh[32];                                                                             \
        double s = sum_partials(partials, count, sh);                                                         \
        if (threadIdx.x == 0) tav::st(out, 0, (float)s);                                                      \
    }                                                                                                         \
    TAV_EXPORT(sum_final_##TN)

TAV_SUM(float, f32)
TAV_SUM(f16, f16)
TAV_SUM(bf16, bf16)

// Clipping on the device (torch clip_grad_norm_ after GradScaler.unscale_), one thread: from the squared total norm
// of the scaled gradients sq, norm = sqrt(sq) / scale; clip = min(1, maxNorm / (norm + 1e-6)) in double, rounded
// to float; gradScale = clip / scale (unscale and clip in one factor, exact: the scale is a power of two). A
// non-finite sq means some gradient is Inf/NaN: finite = 0, clip = gradScale = 0, and AdamW skips the step.
// out[1..4] = sq's 64 bits in 16-bit pieces (exact in float), so the host reads the norm exactly as before.
extern "C" __global__ void tune_clip(const double* sq, const float* in, int scaleAt, float maxNorm, float* out) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    double s = sq[0];
    float scale = in[scaleAt];
#ifdef TAV_EMU
    unsigned long long bits;
    __builtin_memcpy(&bits, &s, 8);
#else
    unsigned long long bits = (unsigned long long)__double_as_longlong(s);
#endif
    for (int k = 0; k < 4; k++) out[1 + k] = (float)((bits >> (16 * k)) & 0xFFFFull);
    bool finite = s - s == 0.0;  // false for Inf and NaN
    float clip = 0.0f, gradScale = 0.0f;
    if (finite) {
        double norm = sqrt(s) / (double)scale;
        double c = (double)maxNorm / (norm + 1e-6);
        clip = (float)(c < 1.0 ? c : 1.0);
        gradScale = tavg::rn_div(clip, scale);
    }
    out[5] = clip;
    out[6] = gradScale;
    out[7] = finite ? 1.0f : 0.0f;
}
TAV_EXPORT(tune_clip)

// adamw_f32 with the step-dependent scalars read from device memory: gradScale = out[6], skipped when out[7] == 0
// (non-finite gradients); stepSize = in[stepAt], bc2Sqrt = in[stepAt + 1]. The same expression as adamw_f32.
extern "C" __global__ void adamw_dev_f32(float* param, const float* grad, float* m, float* v, long n,
                                         const float* in, int stepAt, const float* out, float decay, float w1,
                                         float w2, float b2, float eps, int lerpLow) {
    if (out[7] == 0.0f) return;
    adamw_range(param, grad, m, v, n, out[6], decay, w1, w2, b2, in[stepAt], in[stepAt + 1], eps, lerpLow);
}
TAV_EXPORT(adamw_dev_f32)
