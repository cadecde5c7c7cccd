package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.device.DeviceApi;


/**
 * The tensor-core (WMMA, fp32 accumulation) kernels for BF16/F16 storage: conv2d as an implicit GEMM
 * and its input gradient ({@code native/src/conv_tc.cu}) and fused flash-style attention
 * ({@code native/src/attention_tc.cu}). They take the same arguments as the CUDA-core kernels; {@link CudaOps} and
 * {@link CudaGradOps} ask here first and fall back to those when a method returns null (F32 storage, which keeps
 * the exact reference kernels; shapes not covered).
 *
 * <p>Covered: conv2d and its input gradient with input and output channels multiples of 8 (any kernel size, stride, padding);
 * attention SELF, CAUSAL, SPARSE_CAUSAL, CROSS with a head size that is a multiple of 8 up to 160 (TEMPORAL
 * stays on its kernel). Tensors must start 16-byte aligned (all global accesses are 16-byte chunks). An attention
 * kernel whose shared memory exceeds the device's per-block limit ({@link DeviceApi#maxSharedBytesPerBlock}) is not
 * chosen either.
 *
 * <p>Off switch for A/B runs: {@code BackendSettings.tensorCores()} (forward and backward; {@code -Dtav.cuda.tensorCores=false}
 * or {@code TAV_CUDA_TENSOR_CORES=0} at the entry point), the backward alone {@code BackendSettings.tensorCoresBackward()}
 * ({@code -Dtav.cuda.tensorCores.backward=false} or {@code TAV_CUDA_TENSOR_CORES_BACKWARD=0}); {@link CudaOps} applies them.
 */
final class TensorCoreKernels {
    /** Padded head sizes with a kernel (multiples of 16, the WMMA K step): head size d runs the smallest >= d. */
    static final int[] HEAD_PADS = {16, 32, 48, 64, 80, 128, 160};
    /** Launch geometry of conv_tc.cu and attention_tc.cu. */
    static final int CONV_BM = 128, CONV_BN = 64, ATTN_BQ = 64, ATTN_BKV = 64, THREADS = 128;

    /** One launch: kernel, grid x/y, threads per block, dynamic shared bytes. */
    record Launch(Kernel kernel, int gx, int gy, int threads, int smem) {}

    private final Kernel convBf16, convF16, convInputBf16, convInputF16;
    private final Kernel[] attnBf16 = new Kernel[HEAD_PADS.length], attnF16 = new Kernel[HEAD_PADS.length];

    private final int maxShared;  // the device's dynamic shared memory per block: larger attention tiles fall back

    TensorCoreKernels(DeviceApi api) {
        maxShared = api.maxSharedBytesPerBlock();
        convBf16 = Kernel.lookup(api, "conv2d_tc_bf16", "PPPPPIIIIIIIIIIII");
        convF16 = Kernel.lookup(api, "conv2d_tc_f16", "PPPPPIIIIIIIIIIII");
        convInputBf16 = Kernel.lookup(api, "conv2d_bwd_input_tc_bf16", "PPPIIIIIIIIIIII");
        convInputF16 = Kernel.lookup(api, "conv2d_bwd_input_tc_f16", "PPPIIIIIIIIIIII");
        for (int i = 0; i < HEAD_PADS.length; i++) {
            attnBf16[i] = Kernel.lookup(api, "attention_tc_d" + HEAD_PADS[i] + "_bf16", "PPPPIIIIIIIIF");
            attnF16[i] = Kernel.lookup(api, "attention_tc_d" + HEAD_PADS[i] + "_f16", "PPPPIIIIIIIIF");
        }
    }

    /**
     * The initial state of the backward ops' tensor-core kernels: on. {@link CudaOps#grad()} sets them from its
     * settings right after making the backward ops ({@code BackendSettings.tensorCoresBackward()}), so this is not a switch.
     */
    static boolean backwardEnabledByDefault() {
        return true;
    }

    /** The conv2d_tc launch for output pixels m = N·Ho·Wo, or null when not covered. */
    Launch conv2d(DType t, long m, int ci, int co, long... pointers) {
        if (t == DType.F32 || ci % 8 != 0 || co % 8 != 0 || !aligned(pointers)) return null;
        long gx = (m + CONV_BM - 1) / CONV_BM;
        if (gx > Integer.MAX_VALUE || co / CONV_BN >= 65535) return null;
        return new Launch(t == DType.BF16 ? convBf16 : convF16, (int) gx, (co + CONV_BN - 1) / CONV_BN, THREADS, 0);
    }

    /** The conv2d_bwd_input_tc launch for input pixels m = N·H·W (dX[m, ci] from dY[.., co]), or null when not covered. */
    Launch conv2dBackwardInput(DType t, long m, int ci, int co, long... pointers) {
        if (t == DType.F32 || ci % 8 != 0 || co % 8 != 0 || !aligned(pointers)) return null;
        long gx = (m + CONV_BM - 1) / CONV_BM;
        if (gx > Integer.MAX_VALUE || ci / CONV_BN >= 65535) return null;
        return new Launch(t == DType.BF16 ? convInputBf16 : convInputF16, (int) gx, (ci + CONV_BN - 1) / CONV_BN, THREADS, 0);
    }

    /** The attention_tc launch for {@code images} query images of {@code lq} tokens, or null when not covered. */
    Launch attention(DType t, AttentionKind kind, int images, int heads, int headSize, int lq, long... pointers) {
        if (t == DType.F32 || kind == AttentionKind.TEMPORAL || headSize % 8 != 0 || headSize > HEAD_PADS[HEAD_PADS.length - 1]
                || !aligned(pointers)) return null;
        int b = 0;
        while (HEAD_PADS[b] < headSize) b++;
        int smem = attentionSmemBytes(HEAD_PADS[b]);
        if (smem > maxShared) return null;  // e.g. head size 160 (113 KiB) on a GPU with 99 KiB per block
        return new Launch((t == DType.BF16 ? attnBf16 : attnF16)[b], (lq + ATTN_BQ - 1) / ATTN_BQ, images * heads, THREADS, smem);
    }

    /** Dynamic shared memory of attention_tc_d{dp}: as AttnTcSmem in attention_tc.cu (Q, K, V tiles; per warp S/PV patch and P). */
    static int attentionSmemBytes(int dp) {
        int ldt = dp + 8, lds = Math.max(ATTN_BKV, dp) + 4, ldp = ATTN_BKV + 8, warps = THREADS / 32;
        return (ATTN_BQ + 2 * ATTN_BKV) * ldt * 2 + warps * 16 * lds * 4 + warps * 16 * ldp * 2;
    }

    private static boolean aligned(long... pointers) {
        for (long p : pointers) if (p % 16 != 0) return false;
        return true;
    }
}
