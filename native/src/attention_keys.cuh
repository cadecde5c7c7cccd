// Which keys a query of each attention kind sees, for the four attention kernel files (attention.cu,
// attention_tc.cu, attention_grad.cu, attention_grad_tc.cu): Tune-A-Video's sparse-causal attention lets frame f
// attend to frame 0 and frame f-1 (frame 0 to itself twice), read in place; cross attention reads its batch item's
// text; self and causal attention read their own image. Layout: k, v [Nk, Lkv, C], heads interleaved in C.
#pragma once
#include "common.cuh"

namespace tav {

// The kind codes the dispatchers pass (CudaKernels.attentionCode); TEMPORAL has kernels of its own.
enum AttnKind { ATTN_SELF = 0, ATTN_CAUSAL = 1, ATTN_SPARSE_CAUSAL = 2, ATTN_CROSS = 3 };

// Element offset of row `row` of key image `img`, head h.
__device__ __forceinline__ long kv_offset(int img, int row, int lkv, int C, int h, int D) {
    return (long(img) * lkv + row) * C + long(h) * D;
}

// The key image and row of key j (of 2·lkv for sparse-causal, else lkv) for query image n.
__device__ __forceinline__ void key_source(int kind, int n, int frames, int lkv, int j, int& img, int& row) {
    if (kind == ATTN_SPARSE_CAUSAL) {
        int b = n / frames, f = n - b * frames;
        if (j < lkv) { img = b * frames; row = j; }
        else { img = b * frames + (f > 0 ? f - 1 : 0); row = j - lkv; }
    } else if (kind == ATTN_CROSS) {
        img = n / frames; row = j;
    } else {
        img = n; row = j;
    }
}

// Element offset of key j of head h for query image n.
__device__ __forceinline__ long key_offset(int kind, int n, int frames, int lkv, int j, int C, int h, int D) {
    int img, row;
    key_source(kind, n, frames, lkv, j, img, row);
    return kv_offset(img, row, lkv, C, h, D);
}

// The converse, for the backward's key phase: the it-th query image that may read key image kimg (`img`; it runs
// over 0..frames-1 for sparse-causal and cross attention, 0 otherwise) and how many times it reads it: 0, 1 or 2
// (sparse-causal frame 0 reads frame 0 twice, as first frame and as previous frame; frame 1 reads it as both too).
__device__ __forceinline__ int key_reader(int kind, int frames, int kimg, int it, int& img) {
    if (kind == ATTN_SPARSE_CAUSAL) {
        int g = kimg % frames, first = kimg - g;
        img = first + it;
        return (g == 0 ? 1 : 0) + (max(it - 1, 0) == g ? 1 : 0);
    }
    if (kind == ATTN_CROSS) {
        img = kimg * frames + it;
        return 1;
    }
    img = kimg;
    return 1;
}

}  // namespace tav
