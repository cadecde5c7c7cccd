// Element-wise and data-movement kernels, templated on the storage type T (float, f16, bf16; one extern "C"
// entry per type, name suffix _f32/_f16/_bf16) with fp32 arithmetic; plus fp32 <-> f16/bf16 conversions.
// All use a grid-stride loop over long element counts, so any grid size is correct; the host picks one for
// occupancy.
#include "common.cuh"

using tav::global_thread;
using tav::grid_threads;
using tav::ld;
using tav::st;

#define TAV_FOR(i, n) for (long i = global_thread(); i < (n); i += grid_threads())

enum { ACT_SILU = 0, ACT_GELU = 1, ACT_QUICK_GELU = 2, ACT_EXP = 3 };

namespace tav {

// out = a*x + b*y; out may alias x or y.
template <typename T>
__device__ __forceinline__ void axpby(const T* x, const T* y, T* out, float a, float b, long n) {
    TAV_FOR(i, n) st(out, i, a * ld(x, i) + b * ld(y, i));
}

// out = x * y element-wise; out may alias x or y.
template <typename T>
__device__ __forceinline__ void mul(const T* x, const T* y, T* out, long n) {
    TAV_FOR(i, n) st(out, i, ld(x, i) * ld(y, i));
}

// out[i] = value[0] (a device scalar broadcast: the gradient of a sum, a loss scale).
template <typename T>
__device__ __forceinline__ void fill_from(const T* value, T* out, long n) {
    const T v = value[0];
    TAV_FOR(i, n) out[i] = v;
}

template <typename T>
__device__ __forceinline__ void activation(const T* x, T* out, int act, long n) {
    TAV_FOR(i, n) {
        float v = ld(x, i);
        st(out, i, act == ACT_SILU ? silu(v) : act == ACT_GELU ? gelu(v) : act == ACT_EXP ? expf(v) : quick_gelu(v));
    }
}

// x [rows, 2D] split as (a, gate): out [rows, D] = a * gelu(gate).
template <typename T>
__device__ __forceinline__ void geglu(const T* x, T* out, long rows, int D) {
    TAV_FOR(i, rows * D) {
        long r = i / D;
        long d = i - r * D;
        st(out, i, ld(x, r * 2 * D + d) * gelu(ld(x, r * 2 * D + D + d)));
    }
}

// out[i] = x[i] + vec[(image / repeat) * C + c] with image = i / perImage; out may alias x.
template <typename T>
__device__ __forceinline__ void add_channel_bias(const T* x, const T* vec, T* out, long n, int C, long perImage,
                                                 int repeat) {
    TAV_FOR(i, n) {
        long img = i / perImage;
        int c = int(i % C);
        st(out, i, ld(x, i) + ld(vec, (img / repeat) * C + c));
    }
}

// out[r, :] = bias: the first half of matmul-with-bias (the GEMM then accumulates with beta = 1).
template <typename T>
__device__ __forceinline__ void fill_rows(const T* bias, T* out, long rows, int N) {
    TAV_FOR(i, rows * N) out[i] = bias[i % N];
}

// out[r, c] = bias[c] + residual[r, c] (bias may be null): the first half of matmul-with-bias-and-residual
// (the GEMM then accumulates with beta = 1). Element-wise, so out may alias residual.
template <typename T>
__device__ __forceinline__ void fill_rows_residual(const T* bias, const T* residual, T* out, long rows, int N) {
    TAV_FOR(i, rows * N) {
        float v = ld(residual, i);
        if (bias) v = ld(bias, i % N) + v;
        st(out, i, v);
    }
}

// out [pixels, Ca + Cb] = concat(a [pixels, Ca], b [pixels, Cb]).
template <typename T>
__device__ __forceinline__ void concat_channels(const T* a, const T* b, T* out, long pixels, int Ca, int Cb) {
    int Co = Ca + Cb;
    TAV_FOR(i, pixels * Co) {
        long p = i / Co;
        int c = int(i - p * Co);
        out[i] = c < Ca ? a[p * Ca + c] : b[p * Cb + (c - Ca)];
    }
}

// General permutation up to rank 6: out dims d0..d5 (row-major, unused leading dims are 1) and the input
// stride, in elements, of each out dim.
template <typename T>
__device__ __forceinline__ void permute(const T* x, T* out, long n, int d0, int d1, int d2, int d3, int d4, int d5,
                                        long s0, long s1, long s2, long s3, long s4, long s5) {
    TAV_FOR(i, n) {
        long r = i;
        long c5 = r % d5; r /= d5;
        long c4 = r % d4; r /= d4;
        long c3 = r % d3; r /= d3;
        long c2 = r % d2; r /= d2;
        long c1 = r % d1; r /= d1;
        long c0 = r % d0;
        out[i] = x[c0 * s0 + c1 * s1 + c2 * s2 + c3 * s3 + c4 * s4 + c5 * s5];
    }
}

// out[i, :] = table[ids[i], :]; ids were range-checked on the host.
template <typename T>
__device__ __forceinline__ void gather_rows(const T* table, const int* ids, T* out, long rows, int D) {
    TAV_FOR(i, rows * D) {
        long r = i / D;
        out[i] = table[long(ids[r]) * D + (i - r * D)];
    }
}

// Nearest resize [N, H, W, C] -> [N, Ho, Wo, C], src = floor(dst * in / out).
template <typename T>
__device__ __forceinline__ void upsample_nearest(const T* x, T* out, int N, int H, int W, int C, int Ho, int Wo) {
    long total = long(N) * Ho * Wo * C;
    TAV_FOR(i, total) {
        long r = i;
        int c = int(r % C); r /= C;
        int ox = int(r % Wo); r /= Wo;
        int oy = int(r % Ho);
        long n = r / Ho;
        int iy = int(long(oy) * H / Ho), ix = int(long(ox) * W / Wo);
        out[i] = x[((n * H + iy) * W + ix) * C + c];
    }
}

// diffusers get_timestep_embedding (max_period 10000, scale 1): out [B, dim]; computed in fp32, stored as T.
template <typename T>
__device__ __forceinline__ void timestep_embedding(const float* t, T* out, int B, int dim, int flip, float shift) {
    int half = dim / 2;
    TAV_FOR(i, long(B) * dim) {
        int b = int(i / dim), j = int(i % dim);
        float v = 0.0f;  // the odd last column is zero padding
        if (j < 2 * half) {
            int f = j < half ? j : j - half;
            float exponent = -logf(10000.0f) * float(f) / (float(half) - shift);
            float arg = t[b] * expf(exponent);
            bool first = j < half;  // sin first unless flipped
            v = (first != (flip != 0)) ? sinf(arg) : cosf(arg);
        }
        st(out, i, v);
    }
}

// One deterministic DDIM step (eta 0): x0 = (x - sqrt(1-a) eps) / sqrt(a); out = sqrt(a') x0 + sqrt(1-a') eps.
template <typename T>
__device__ __forceinline__ void ddim_step(const T* x, const T* eps, T* out, long n, float sqrtA,
                                          float sqrtOneMinusA, float sqrtAPrev, float sqrtOneMinusAPrev) {
    TAV_FOR(i, n) {
        float e = ld(eps, i);
        float x0 = (ld(x, i) - sqrtOneMinusA * e) / sqrtA;
        st(out, i, sqrtAPrev * x0 + sqrtOneMinusAPrev * e);
    }
}

// LayerNorm over the last dimension: one warp per row, two passes in fp32 for a stable variance; in place
// allowed (each lane reads its elements before writing them, and rows do not overlap).
template <typename T>
__device__ __forceinline__ void layernorm(const T* x, const T* gamma, const T* beta, T* out, long rows, int C,
                                          float eps) {
    long row = long(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;  // whole warps leave together
    const T* xr = x + row * C;
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += ld(xr, c);
    float mean = warp_sum(s) / C;
    float q = 0.0f;
    for (int c = lane; c < C; c += 32) { float d = ld(xr, c) - mean; q += d * d; }
    float rstd = rsqrtf(warp_sum(q) / C + eps);
    for (int c = lane; c < C; c += 32) st(out, row * C + c, (ld(xr, c) - mean) * rstd * ld(gamma, c) + ld(beta, c));
}

}  // namespace tav

#define TAV_ELEMENTWISE(T, TN)                                                                               \
    extern "C" __global__ void axpby_##TN(const T* x, const T* y, T* out, float a, float b, long n) {         \
        tav::axpby<T>(x, y, out, a, b, n);                                                                   \
    }                                                                                                        \
    TAV_EXPORT(axpby_##TN)                                                                                   \
    extern "C" __global__ void mul_##TN(const T* x, const T* y, T* out, long n) { tav::mul<T>(x, y, out, n); } \
    TAV_EXPORT(mul_##TN)                                                                                     \
    extern "C" __global__ void fill_from_##TN(const T* value, T* out, long n) { tav::fill_from<T>(value, out, n); } \
    TAV_EXPORT(fill_from_##TN)                                                                               \
    extern "C" __global__ void activation_##TN(const T* x, T* out, int act, long n) {                        \
        tav::activation<T>(x, out, act, n);                                                                  \
    }                                                                                                        \
    TAV_EXPORT(activation_##TN)                                                                              \
    extern "C" __global__ void geglu_##TN(const T* x, T* out, long rows, int D) { tav::geglu<T>(x, out, rows, D); } \
    TAV_EXPORT(geglu_##TN)                                                                                   \
    extern "C" __global__ void add_channel_bias_##TN(const T* x, const T* vec, T* out, long n, int C,         \
                                                     long perImage, int repeat) {                            \
        tav::add_channel_bias<T>(x, vec, out, n, C, perImage, repeat);                                       \
    }                                                                                                        \
    TAV_EXPORT(add_channel_bias_##TN)                                                                        \
    extern "C" __global__ void fill_rows_##TN(const T* bias, T* out, long rows, int N) {                     \
        tav::fill_rows<T>(bias, out, rows, N);                                                               \
    }                                                                                                        \
    TAV_EXPORT(fill_rows_##TN)                                                                               \
    extern "C" __global__ void fill_rows_residual_##TN(const T* bias, const T* residual, T* out, long rows, int N) { \
        tav::fill_rows_residual<T>(bias, residual, out, rows, N);                                            \
    }                                                                                                        \
    TAV_EXPORT(fill_rows_residual_##TN)                                                                      \
    extern "C" __global__ void concat_channels_##TN(const T* a, const T* b, T* out, long pixels, int Ca, int Cb) { \
        tav::concat_channels<T>(a, b, out, pixels, Ca, Cb);                                                  \
    }                                                                                                        \
    TAV_EXPORT(concat_channels_##TN)                                                                         \
    extern "C" __global__ void permute_##TN(const T* x, T* out, long n, int d0, int d1, int d2, int d3, int d4, \
                                            int d5, long s0, long s1, long s2, long s3, long s4, long s5) {  \
        tav::permute<T>(x, out, n, d0, d1, d2, d3, d4, d5, s0, s1, s2, s3, s4, s5);                          \
    }                                                                                                        \
    TAV_EXPORT(permute_##TN)                                                                                 \
    extern "C" __global__ void gather_rows_##TN(const T* table, const int* ids, T* out, long rows, int D) {   \
        tav::gather_rows<T>(table, ids, out, rows, D);                                                       \
    }                                                                                                        \
    TAV_EXPORT(gather_rows_##TN)                                                                             \
    extern "C" __global__ void upsample_nearest_##TN(const T* x, T* out, int N, int H, int W, int C, int Ho,  \
                                                     int Wo) {                                               \
        tav::upsample_nearest<T>(x, out, N, H, W, C, Ho, Wo);                                                \
    }                                                                                                        \
    TAV_EXPORT(upsample_nearest_##TN)                                                                        \
    extern "C" __global__ void timestep_embedding_##TN(const float* t, T* out, int B, int dim, int flip,      \
                                                       float shift) {                                        \
        tav::timestep_embedding<T>(t, out, B, dim, flip, shift);                                             \
    }                                                                                                        \
    TAV_EXPORT(timestep_embedding_##TN)                                                                      \
    extern "C" __global__ void ddim_step_##TN(const T* x, const T* eps, T* out, long n, float sqrtA,          \
                                              float sqrtOneMinusA, float sqrtAPrev, float sqrtOneMinusAPrev) { \
        tav::ddim_step<T>(x, eps, out, n, sqrtA, sqrtOneMinusA, sqrtAPrev, sqrtOneMinusAPrev);               \
    }                                                                                                        \
    TAV_EXPORT(ddim_step_##TN)                                                                               \
    extern "C" __global__ void __launch_bounds__(128) layernorm_##TN(const T* x, const T* gamma, const T* beta, \
                                                                    T* out, long rows, int C, float eps) {   \
        tav::layernorm<T>(x, gamma, beta, out, rows, C, eps);                                                \
    }                                                                                                        \
    TAV_EXPORT(layernorm_##TN)

TAV_ELEMENTWISE(float, f32)
TAV_ELEMENTWISE(f16, f16)
TAV_ELEMENTWISE(bf16, bf16)

#define TAV_CONVERT(T, TN)                                                                                   \
    extern "C" __global__ void convert_f32_to_##TN(const float* x, T* out, long n) {                         \
        TAV_FOR(i, n) st(out, i, x[i]);                                                                      \
    }                                                                                                        \
    TAV_EXPORT(convert_f32_to_##TN)                                                                          \
    extern "C" __global__ void convert_##TN##_to_f32(const T* x, float* out, long n) {                       \
        TAV_FOR(i, n) out[i] = ld(x, i);                                                                     \
    }                                                                                                        \
    TAV_EXPORT(convert_##TN##_to_f32)

TAV_CONVERT(f16, f16)
TAV_CONVERT(bf16, bf16)
