package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.device.DeviceApi;

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
        final Kernel activation, geglu, upsample, split, fill, convInput, layerNorm, groupNormStats,
                groupNormPartial, groupNormApply;
        /**
         * Parameter gradients (param_grad.cu): the conv weight partials and the per-channel partials read
         * activations of this type; sumPartials and channelFinalize write gradients of this type (F32: fp32
         * master gradients of half activations).
         */
        final Kernel convWeight, sumPartials, channelPartial, channelFinalize, layerNormStats;
        private final Kernel[] attnQuery, attnKey, temporalQuery, temporalKey;

        private Typed(DeviceApi api, DType t) {
            String s = "_" + CudaKernels.suffix(t);
            activation = Kernel.lookup(api, "activation_bwd" + s, "PPPIL");
            geglu = Kernel.lookup(api, "geglu_bwd" + s, "PPPLI");
            upsample = Kernel.lookup(api, "upsample_nearest_bwd" + s, "PPIIIIII");
            split = Kernel.lookup(api, "split_channels" + s, "PPPLII");
            fill = Kernel.lookup(api, "fill" + s, "PFL");
            convInput = Kernel.lookup(api, "conv2d_bwd_input" + s, "PPPIIIIIIIIIIII");
            layerNorm = Kernel.lookup(api, "layernorm_bwd" + s, "PPPPLIF");
            groupNormStats = Kernel.lookup(api, "groupnorm_partial" + s, "PPIILIL");
            groupNormPartial = Kernel.lookup(api, "groupnorm_bwd_partial" + s, "PPPPPPIILILI");
            groupNormApply = Kernel.lookup(api, "groupnorm_bwd_apply" + s, "PPPPPPPLIILII");
            convWeight = Kernel.lookup(api, "conv2d_bwd_weight" + s, "PPPIIIIIIIIIIIIL");
            sumPartials = Kernel.lookup(api, "sum_partials" + s, "PPLI");
            channelPartial = Kernel.lookup(api, "channel_grad_partial" + s, "PPPPPPLIILIL");
            channelFinalize = Kernel.lookup(api, "channel_grad_finalize" + s, "PPPII");
            layerNormStats = Kernel.lookup(api, "layernorm_stats" + s, "PPLIF");
            int nb = CudaKernels.HEAD_BUCKETS.length;
            attnQuery = new Kernel[nb];
            attnKey = new Kernel[nb];
            temporalQuery = new Kernel[nb];
            temporalKey = new Kernel[nb];
            for (int b = 0; b < nb; b++) {
                String d = "_d" + CudaKernels.HEAD_BUCKETS[b] + s;
                attnQuery[b] = Kernel.lookup(api, "attention_bwd_q" + d, "PPPPPPIIIIIIIIF");
                attnKey[b] = Kernel.lookup(api, "attention_bwd_kv" + d, "PPPPPPPIIIIIIIF");
                temporalQuery[b] = Kernel.lookup(api, "attention_bwd_temporal_q" + d, "PPPPPPIIIIIIF");
                temporalKey[b] = Kernel.lookup(api, "attention_bwd_temporal_kv" + d, "PPPPPPPIIIIIIF");
            }
        }

        Kernel attentionQuery(int headSize) { return attnQuery[CudaKernels.headBucket(headSize)]; }

        Kernel attentionKey(int headSize) { return attnKey[CudaKernels.headBucket(headSize)]; }

        Kernel temporalQuery(int headSize) { return temporalQuery[CudaKernels.headBucket(headSize)]; }

        Kernel temporalKey(int headSize) { return temporalKey[CudaKernels.headBucket(headSize)]; }
    }

    final Kernel sumSquaresPartial, sumSquaresMulti, sumSquaresFinal, adamW, groupNormStatsFinalize, groupNormFinalize;
    /** Device-side tuning scalars (TuneScalars): MSE final stage, clip factors, AdamW reading its scalars from memory. */
    final Kernel mseFinal, tuneClip, adamWDevice;
    private final Kernel[] msePartial = new Kernel[DType.values().length];
    private final Typed[] typed = new Typed[DType.values().length];

    CudaGradKernels(DeviceApi api) {
        sumSquaresPartial = Kernel.lookup(api, "sum_squares_partial_f32", "PPL");
        sumSquaresMulti = Kernel.lookup(api, "sum_squares_multi_f32", "PIP");
        sumSquaresFinal = Kernel.lookup(api, "sum_squares_final", "PPI");
        adamW = Kernel.lookup(api, "adamw_f32", "PPPPLFFFFFFFFI");
        mseFinal = Kernel.lookup(api, "mse_final", "PILP");
        tuneClip = Kernel.lookup(api, "tune_clip", "PPIFP");
        adamWDevice = Kernel.lookup(api, "adamw_dev_f32", "PPPPLPIPFFFFFI");
        for (DType t : DType.values()) msePartial[t.ordinal()] = Kernel.lookup(api, "mse_partial_" + CudaKernels.suffix(t), "PPPL");
        groupNormStatsFinalize = Kernel.lookup(api, "groupnorm_finalize", "PPIIF");
        groupNormFinalize = Kernel.lookup(api, "groupnorm_bwd_finalize", "PPIID");
        for (DType t : DType.values()) typed[t.ordinal()] = new Typed(api, t);
    }

    /** MSE stage 1 over predictions and targets stored as {@code t}. */
    Kernel msePartial(DType t) { return msePartial[t.ordinal()]; }

    /** The kernels storing {@code t}. */
    Typed of(DType t) { return typed[t.ordinal()]; }
}
