package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceApi.KernelHandle;

/**
 * The backward kernels (native/src/*_grad.cu) and the forward GroupNorm statistics kernels they reuse, resolved
 * once when the backward ops are first asked for. Kernels that touch activations have an F32, F16 and BF16 variant
 * ({@link #of}, fp32 arithmetic whatever the storage, as the forward kernels); the optimizer kernels (sum of squares,
 * AdamW) work on the fp32 gradients and master weights only. Attention kernels are bucketed by head size as the
 * forward ones ({@link CudaKernels#HEAD_BUCKETS}).
 */
final class CudaGradKernels {
    /** The kernels of one storage type. */
    static final class Typed {
        final KernelHandle activation, geglu, upsample, split, fill, convInput, layerNorm, groupNormStats,
                groupNormPartial, groupNormApply;
        private final KernelHandle[] attnQuery, attnKey, temporalQuery, temporalKey;

        private Typed(DeviceApi api, DType t) {
            String s = "_" + CudaKernels.suffix(t);
            activation = api.kernel("activation_bwd" + s);
            geglu = api.kernel("geglu_bwd" + s);
            upsample = api.kernel("upsample_nearest_bwd" + s);
            split = api.kernel("split_channels" + s);
            fill = api.kernel("fill" + s);
            convInput = api.kernel("conv2d_bwd_input" + s);
            layerNorm = api.kernel("layernorm_bwd" + s);
            groupNormStats = api.kernel("groupnorm_partial" + s);
            groupNormPartial = api.kernel("groupnorm_bwd_partial" + s);
            groupNormApply = api.kernel("groupnorm_bwd_apply" + s);
            int nb = CudaKernels.HEAD_BUCKETS.length;
            attnQuery = new KernelHandle[nb];
            attnKey = new KernelHandle[nb];
            temporalQuery = new KernelHandle[nb];
            temporalKey = new KernelHandle[nb];
            for (int b = 0; b < nb; b++) {
                String d = "_d" + CudaKernels.HEAD_BUCKETS[b] + s;
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

    final KernelHandle sumSquaresPartial, sumSquaresMulti, sumSquaresFinal, adamW, groupNormStatsFinalize, groupNormFinalize;
    /** Device-side tuning scalars (TuneScalars): MSE final stage, clip factors, AdamW reading its scalars from memory. */
    final KernelHandle mseFinal, tuneClip, adamWDevice;
    private final KernelHandle[] msePartial = new KernelHandle[DType.values().length];
    private final Typed[] typed = new Typed[DType.values().length];

    CudaGradKernels(DeviceApi api) {
        sumSquaresPartial = api.kernel("sum_squares_partial_f32");
        sumSquaresMulti = api.kernel("sum_squares_multi_f32");
        sumSquaresFinal = api.kernel("sum_squares_final");
        adamW = api.kernel("adamw_f32");
        mseFinal = api.kernel("mse_final");
        tuneClip = api.kernel("tune_clip");
        adamWDevice = api.kernel("adamw_dev_f32");
        for (DType t : DType.values()) msePartial[t.ordinal()] = api.kernel("mse_partial_" + CudaKernels.suffix(t));
        groupNormStatsFinalize = api.kernel("groupnorm_finalize");
        groupNormFinalize = api.kernel("groupnorm_bwd_finalize");
        for (DType t : DType.values()) typed[t.ordinal()] = new Typed(api, t);
    }

    /** MSE stage 1 over predictions and targets stored as {@code t}. */
    KernelHandle msePartial(DType t) { return msePartial[t.ordinal()]; }

    /** The kernels storing {@code t}. */
    Typed of(DType t) { return typed[t.ordinal()]; }
}
