// Helpers of the tensor-core (WMMA) kernels, conv_tc.cu and attention_tc.cu: 16-byte moves and 16-bit storage
// conversions. Compiles under nvcc (compute_80: WMMA with bf16 needs sm_80) and under the host emulation, whose
// cuda_emu.h provides nvcuda::wmma (each lane holds the whole tile; see the note there).
#pragma once
#include "common.cuh"
#ifndef TAV_EMU
#include <mma.h>
#endif

namespace tav {
namespace wmma = nvcuda::wmma;

// 16-byte load/store (8 half/bf16 values); the address must be 16-byte aligned. memcpy in the emulation so
// g++'s strict-aliasing rules cannot reorder it around the 16-bit element accesses.
__device__ __forceinline__ uint4 ld16(const void* p) {
#ifdef TAV_EMU
    uint4 v;
    std::memcpy(&v, p, 16);
    return v;
#else
    return *reinterpret_cast<const uint4*>(p);
#endif
}
__device__ __forceinline__ void st16(void* p, uint4 v) {
#ifdef TAV_EMU
    std::memcpy(p, &v, 16);
#else
    *reinterpret_cast<uint4*>(p) = v;
#endif
}

// float -> storage type, and the raw 16 bits of a value.
template <typename T> __device__ __forceinline__ T to_t(float v);
template <> __device__ __forceinline__ bf16 to_t<bf16>(float v) { return __float2bfloat16(v); }
template <> __device__ __forceinline__ f16 to_t<f16>(float v) { return __float2half(v); }
__device__ __forceinline__ unsigned bits16(bf16 v) { return __bfloat16_as_ushort(v); }
__device__ __forceinline__ unsigned bits16(f16 v) { return __half_as_ushort(v); }
__device__ __forceinline__ float to_f(bf16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_f(f16 v) { return __half2float(v); }

// Eight floats rounded to T and packed into 16 bytes (element 0 in the lowest bits, as in memory).
template <typename T>
__device__ __forceinline__ uint4 pack8(const float* v) {
    unsigned w[4];
#pragma unroll
    for (int i = 0; i < 4; i++) w[i] = bits16(to_t<T>(v[2 * i])) | (bits16(to_t<T>(v[2 * i + 1])) << 16);
    return uint4{w[0], w[1], w[2], w[3]};
}

// Eight T values from a 16-byte aligned address, as floats (one 16-byte load).
template <typename T>
__device__ __forceinline__ void load8f(const T* p, float* v) {
    __align__(16) T r[8];
#ifdef TAV_EMU
    std::memcpy(r, p, 16);
#else
    *reinterpret_cast<uint4*>(r) = *reinterpret_cast<const uint4*>(p);
#endif
#pragma unroll
    for (int i = 0; i < 8; i++) v[i] = to_f(r[i]);
}

}  // namespace tav
