// Element-wise and data-movement kernels (fp32 storage; converts between fp32 and fp16/bf16). All use a
// grid-stride loop over long element counts, so any grid size is correct; the host picks one for occupancy.
#include "common.cuh"

using tav::global_thread;
using tav::grid_threads;

#define TAV_FOR(i, n) for (long i = global_thread(); i < (n); i += grid_threads())

enum { ACT_SILU = 0, ACT_GELU = 1, ACT_QUICK_GELU = 2 };

// out = a*x + b*y; out may alias x or y.
extern "C" __global__ void axpby_f32(const float* x, const float* y, float* out, float a, float b, long n) {
    TAV_FOR(i, n) out[i] = a * x[i] + b * y[i];
}
TAV_EXPORT(axpby_f32)

extern "C" __global__ void activation_f32(const float* x, float* out, int act, long n) {
    TAV_FOR(i, n) {
        float v = x[i];
        out[i] = act == ACT_SILU ? tav::silu(v) : act == ACT_GELU ? tav::gelu(v) : tav::quick_gelu(v);
    }
}
TAV_EXPORT(activation_f32)

// x [rows, 2D] split as (a, gate): out [rows, D] = a * gelu(gate).
extern "C" __global__ void geglu_f32(const float* x, float* out, long rows, int D) {
    TAV_FOR(i, rows * D) {
        long r = i / D;
        long d = i - r * D;
        out[i] = x[r * 2 * D + d] * tav::gelu(x[r * 2 * D + D + d]);
    }
}
TAV_EXPORT(geglu_f32)

// out[i] = x[i] + vec[(image / repeat) * C + c] with image = i / perImage; out may alias x.
extern "C" __global__ void add_channel_bias_f32(const float* x, const float* vec, float* out, long n, int C,
                                                long perImage, int repeat) {
    TAV_FOR(i, n) {
        long img = i / perImage;
        int c = int(i % C);
        out[i] = x[i] + vec[(img / repeat) * C + c];
    }
}
TAV_EXPORT(add_channel_bias_f32)

// out[r, :] = bias: the first half of matmul-with-bias (the GEMM then accumulates with beta = 1).
extern "C" __global__ void fill_rows_f32(const float* bias, float* out, long rows, int N) {
    TAV_FOR(i, rows * N) out[i] = bias[i % N];
}
TAV_EXPORT(fill_rows_f32)

// out [pixels, Ca + Cb] = concat(a [pixels, Ca], b [pixels, Cb]).
extern "C" __global__ void concat_channels_f32(const float* a, const float* b, float* out, long pixels, int Ca,
                                               int Cb) {
    int Co = Ca + Cb;
    TAV_FOR(i, pixels * Co) {
        long p = i / Co;
        int c = int(i - p * Co);
        out[i] = c < Ca ? a[p * Ca + c] : b[p * Cb + (c - Ca)];
    }
}
TAV_EXPORT(concat_channels_f32)

// General permutation up to rank 6: out dims d0..d5 (row-major, unused leading dims are 1) and the input
// stride, in elements, of each out dim.
extern "C" __global__ void permute_f32(const float* x, float* out, long n, int d0, int d1, int d2, int d3, int d4,
                                       int d5, long s0, long s1, long s2, long s3, long s4, long s5) {
    TAV_FOR(i, n) {
        long r = i, src = 0;
        long c5 = r % d5; r /= d5;
        long c4 = r % d4; r /= d4;
        long c3 = r % d3; r /= d3;
        long c2 = r % d2; r /= d2;
        long c1 = r % d1; r /= d1;
        long c0 = r % d0;
        src = c0 * s0 + c1 * s1 + c2 * s2 + c3 * s3 + c4 * s4 + c5 * s5;
        out[i] = x[src];
    }
}
TAV_EXPORT(permute_f32)

// out[i, :] = table[ids[i], :]; ids were range-checked on the host.
extern "C" __global__ void gather_rows_f32(const float* table, const int* ids, float* out, long rows, int D) {
    TAV_FOR(i, rows * D) {
        long r = i / D;
        out[i] = table[long(ids[r]) * D + (i - r * D)];
    }
}
TAV_EXPORT(gather_rows_f32)

// Nearest resize [N, H, W, C] -> [N, Ho, Wo, C], src = floor(dst * in / out).
extern "C" __global__ void upsample_nearest_f32(const float* x, float* out, int N, int H, int W, int C, int Ho,
                                                int Wo) {
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
TAV_EXPORT(upsample_nearest_f32)

// diffusers get_timestep_embedding (max_period 10000, scale 1): out [B, dim].
extern "C" __global__ void timestep_embedding_f32(const float* t, float* out, int B, int dim, int flip, float shift) {
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
        out[i] = v;
    }
}
TAV_EXPORT(timestep_embedding_f32)

// One deterministic DDIM step (eta 0): x0 = (x - sqrt(1-a) eps) / sqrt(a); out = sqrt(a') x0 + sqrt(1-a') eps.
extern "C" __global__ void ddim_step_f32(const float* x, const float* eps, float* out, long n, float sqrtA,
                                         float sqrtOneMinusA, float sqrtAPrev, float sqrtOneMinusAPrev) {
    TAV_FOR(i, n) {
        float e = eps[i];
        float x0 = (x[i] - sqrtOneMinusA * e) / sqrtA;
        out[i] = sqrtAPrev * x0 + sqrtOneMinusAPrev * e;
    }
}
TAV_EXPORT(ddim_step_f32)

#define TAV_CONVERT(T, TN)                                                                                   \
    extern "C" __global__ void convert_f32_to_##TN(const float* x, T* out, long n) {                         \
        TAV_FOR(i, n) tav::st(out, i, x[i]);                                                                 \
    }                                                                                                        \
    TAV_EXPORT(convert_f32_to_##TN)                                                                          \
    extern "C" __global__ void convert_##TN##_to_f32(const T* x, float* out, long n) {                       \
        TAV_FOR(i, n) out[i] = tav::ld(x, i);                                                                \
    }                                                                                                        \
    TAV_EXPORT(convert_##TN##_to_f32)

TAV_CONVERT(f16, f16)
TAV_CONVERT(bf16, bf16)

// LayerNorm over the last dimension: one warp per row, two passes for a stable variance; in place allowed.
extern "C" __global__ void __launch_bounds__(128) layernorm_f32(const float* x, const float* gamma,
                                                               const float* beta, float* out, long rows, int C,
                                                               float eps) {
    long row = long(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;  // whole warps leave together
    const float* xr = x + row * C;
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += xr[c];
    float mean = tav::warp_sum(s) / C;
    float q = 0.0f;
    for (int c = lane; c < C; c += 32) { float d = xr[c] - mean; q += d * d; }
    float rstd = rsqrtf(tav::warp_sum(q) / C + eps);
    for (int c = lane; c < C; c += 32) out[row * C + c] = (xr[c] - mean) * rstd * gamma[c] + beta[c];
}
TAV_EXPORT(layernorm_f32)
