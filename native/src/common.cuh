// Shared helpers of the tav4j kernels. Compiles under nvcc and under the host emulation (native/emu/cuda_emu.h,
// which defines TAV_EMU). Conventions: every kernel is extern "C" with a name ending in its storage type
// (_f32, _f16, _bf16) where it has variants, followed by TAV_EXPORT(name) so the emulation library exports a
// tav_emu_<name> entry taking the same void** parameter array as cuLaunchKernel. Element counts are long;
// arithmetic is fp32 whatever the storage type.
#pragma once

#ifndef TAV_EMU
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#define TAV_EXPORT(name)
#define TAV_DYNAMIC_SMEM(T, name) extern __shared__ T name[]
#endif

typedef __nv_bfloat16 bf16;
typedef __half f16;

namespace tav {

// ---- storage type <-> float ----
__device__ __forceinline__ float ld(const float* p, long i) { return p[i]; }
__device__ __forceinline__ float ld(const f16* p, long i) { return __half2float(p[i]); }
__device__ __forceinline__ float ld(const bf16* p, long i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void st(float* p, long i, float v) { p[i] = v; }
__device__ __forceinline__ void st(f16* p, long i, float v) { p[i] = __float2half(v); }
__device__ __forceinline__ void st(bf16* p, long i, float v) { p[i] = __float2bfloat16(v); }

__device__ __forceinline__ long global_thread() { return long(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ long grid_threads() { return long(gridDim.x) * blockDim.x; }

// ---- activations (PyTorch semantics) ----
__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }
__device__ __forceinline__ float gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
__device__ __forceinline__ float quick_gelu(float x) { return x / (1.0f + expf(-1.702f * x)); }

// ---- reductions ----
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
__device__ __forceinline__ float block_sum(float v, float* scratch32) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch32[warp] = v;
    __syncthreads();
    float t = lane < nw ? scratch32[lane] : 0.0f;
    return warp_sum(t);
}

// Running (count, mean, M2) statistics, merged with Chan's formula: stable over millions of elements.
struct Welford {
    float n, mean, m2;
};
__device__ __forceinline__ Welford welford_merge(Welford a, Welford b) {
    float n = a.n + b.n;
    if (n == 0.0f) return a;
    float d = b.mean - a.mean, fb = b.n / n;
    return Welford{n, a.mean + d * fb, a.m2 + b.m2 + d * d * a.n * fb};
}
__device__ __forceinline__ Welford warp_welford(Welford w) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        Welford other{__shfl_xor_sync(0xffffffffu, w.n, o), __shfl_xor_sync(0xffffffffu, w.mean, o),
                      __shfl_xor_sync(0xffffffffu, w.m2, o)};
        w = welford_merge(w, other);
    }
    return w;
}

}  // namespace tav
