package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.device.DeviceApi;

/**
 * The tensor-core attention backward for BF16/F16 storage ({@code native/src/attention_grad_tc.cu}, WMMA with fp32
 * accumulation): a query-phase and a key-phase kernel with the arguments, statistics buffer and semantics of the
 * CUDA-core pair in attention_grad.cu, so {@link CudaAttentionGrad} swaps them in where {@link #plan} covers the
 * call and keeps the CUDA-core kernels otherwise (F32 storage, TEMPORAL, other head sizes, unaligned tensors).
 * The sibling of {@link TensorCoreKernels} (forward conv2d and attention); the same off switch turns both off.
 *
 * <p>Covered: SELF, CAUSAL, SPARSE_CAUSAL, CROSS with a head size that is a multiple of 8 up to 160 (padded to
 * {@link TensorCoreKernels#HEAD_PADS}), every tensor 16-byte aligned, both kernels' shared memory within the device's
 * per-block limit ({@link DeviceApi#maxSharedBytesPerBlock}). Blocks of 64 queries (query phase) or 64 keys (key
 * phase), 128 threads.
 */
final class TensorCoreAttentionGrad {
    static final int ROWS = 64, THREADS = 128, WARPS = THREADS / 32;
    /** Dynamic shared memory one block may opt in to on sm_90 (the H100's 227 KiB): every kernel here fits it. */
    static final int SMEM_LIMIT = 227 * 1024;

    /** The two launches of one backward call: kernels and their dynamic shared bytes (grid: 64 rows per block). */
    record Plan(Kernel query, int querySmem, Kernel key, int keySmem) {}

    private final Kernel[] queryBf16, queryF16, keyBf16, keyF16;
    private final int maxShared;  // the device's dynamic shared memory per block: larger tiles fall back

    TensorCoreAttentionGrad(DeviceApi api) {
        maxShared = api.maxSharedBytesPerBlock();
        int nb = TensorCoreKernels.HEAD_PADS.length;
        queryBf16 = new Kernel[nb];
        queryF16 = new Kernel[nb];
        keyBf16 = new Kernel[nb];
        keyF16 = new Kernel[nb];
        for (int b = 0; b < nb; b++) {
            String d = "_d" + TensorCoreKernels.HEAD_PADS[b];
            queryBf16[b] = Kernel.lookup(api, "attention_bwd_tc_q" + d + "_bf16", "PPPPPPIIIIIIIIF");
            queryF16[b] = Kernel.lookup(api, "attention_bwd_tc_q" + d + "_f16", "PPPPPPIIIIIIIIF");
            keyBf16[b] = Kernel.lookup(api, "attention_bwd_tc_kv" + d + "_bf16", "PPPPPPPIIIIIIIF");
            keyF16[b] = Kernel.lookup(api, "attention_bwd_tc_kv" + d + "_f16", "PPPPPPPIIIIIIIF");
        }
    }

    /** The kernels for this call, or null when it is not covered (null tensors pass 0, which counts as aligned). */
    Plan plan(DType t, AttentionKind kind, int headSize, long... pointers) {
        if (t == DType.F32 || kind == AttentionKind.TEMPORAL || headSize % 8 != 0 || headSize <= 0
                || headSize > TensorCoreKernels.HEAD_PADS[TensorCoreKernels.HEAD_PADS.length - 1]) return null;
        for (long p : pointers) if (p % 16 != 0) return null;
        int b = 0;
        while (TensorCoreKernels.HEAD_PADS[b] < headSize) b++;
        int dp = TensorCoreKernels.HEAD_PADS[b];
        if (Math.max(querySmemBytes(dp), keySmemBytes(dp)) > maxShared) return null;  // e.g. d80 (103 KiB) on a 99 KiB GPU
        boolean bf = t == DType.BF16;
        return new Plan((bf ? queryBf16 : queryF16)[b], querySmemBytes(dp), (bf ? keyBf16 : keyF16)[b], keySmemBytes(dp));
    }

    /** Dynamic shared memory of attention_bwd_tc_q_d{dp}: AttnBwdTcSmem::QUERY_BYTES (Q, dO, K, V tiles; per warp S, dP, dS). */
    static int querySmemBytes(int dp) {
        return tiles(dp) + patches(dp) + WARPS * 16 * (ROWS + 8) * 2;
    }

    /** Dynamic shared memory of attention_bwd_tc_kv_d{dp}: AttnBwdTcSmem::KEY_BYTES (+ per warp P and dS, per query lse and D). */
    static int keySmemBytes(int dp) {
        return tiles(dp) + patches(dp) + 2 * WARPS * 16 * (ROWS + 8) * 2 + 2 * ROWS * 4;
    }

    private static int tiles(int dp) {
        return 4 * ROWS * (dp + 8) * 2;
    }

    private static int patches(int dp) {
        return WARPS * 16 * ((Math.max(ROWS, dp) + 4) + (ROWS + 4)) * 4;
    }
}
