package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceApi.KernelHandle;

/**
 * The backward kernels (native/src/*_grad.cu) and the two forward GroupNorm statistics kernels they reuse,
 * resolved once when the backward ops are first asked for. Attention kernels are bucketed by head size as the
 * forward ones ({@link CudaKernels#HEAD_BUCKETS}). All F32.
 */
final class CudaGradKernels {
    final KernelHandle activation, geglu, upsample, split, fill, sumSquaresPartial, sumSquaresFinal, adamW,
            convInput, layerNorm, groupNormStats, groupNormStatsFinalize, groupNormPartial, groupNormFinalize,
            groupNormApply;
    private final KernelHandle[] attnQuery, attnKey, temporalQuery, temporalKey;

    CudaGradKernels(DeviceApi api) {
        activation = api.kernel("activation_bwd_f32");
        geglu = api.kernel("geglu_bwd_f32");
        upsample = api.kernel("upsample_nearest_bwd_f32");
        split = api.kernel("split_channels_f32");
        fill = api.kernel("fill_f32");
        sumSquaresPartial = api.kernel("sum_squares_partial_f32");
        sumSquaresFinal = api.kernel("sum_squares_final");
        adamW = api.kernel("adamw_f32");
        convInput = api.kernel("conv2d_bwd_input_f32");
        layerNorm = api.kernel("layernorm_bwd_f32");
        groupNormStats = api.kernel("groupnorm_partial_f32");
        groupNormStatsFinalize = api.kernel("groupnorm_finalize");
        groupNormPartial = api.kernel("groupnorm_bwd_partial_f32");
        groupNormFinalize = api.kernel("groupnorm_bwd_finalize");
        groupNormApply = api.kernel("groupnorm_bwd_apply_f32");
        int nb = CudaKernels.HEAD_BUCKETS.length;
        attnQuery = new KernelHandle[nb];
        attnKey = new KernelHandle[nb];
        temporalQuery = new KernelHandle[nb];
        temporalKey = new KernelHandle[nb];
        for (int b = 0; b < nb; b++) {
            String d = "_d" + CudaKernels.HEAD_BUCKETS[b] + "_f32";
            attnQuery[b] = api.kernel("attention_bwd_q" + d);
            attnKey[b] = api.kernel("attention_bwd_kv" + d);
            temporalQuery[b] = api.kernel("attention_bwd_temporal_q" + d);
            temporalKey[b] = api.kernel("attention_bwd_temporal_kv" + d);
        }
    }

    KernelHandle attentionQuery(int headSize) { return attnQuery[CudaKernels.headBucket(headSize)]; }

    KernelHandle attentionKey(int headSize) { return attnKey[CudaKernels.headBucket(headSize)]; }

    KernelHandle temporalQuery(int headSize) { return temporalQuery[CudaKernels.headBucket(headSize)]; }

    KernelHandle temporalKey(int headSize) { return temporalKey[CudaKernels.headBucket(headSize)]; }
}
