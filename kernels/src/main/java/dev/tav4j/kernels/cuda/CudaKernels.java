package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceApi.KernelHandle;

/**
 * Every kernel of the tav4j module, resolved once when the backend is created (a missing kernel fails there,
 * not in the middle of a step). Names follow native/src: {@code <op>_<storage type>}; every op has an F32, F16
 * and BF16 variant ({@link #of}); attention kernels are bucketed by head size ({@link #HEAD_BUCKETS}).
 */
final class CudaKernels {
    /** Head-size buckets of the attention kernels: a head of size D runs the smallest bucket >= D. */
    static final int[] HEAD_BUCKETS = {8, 16, 32, 40, 64, 80, 128, 160};
    private static final DType[] TYPES = DType.values();

    /** The kernels of one storage type. */
    static final class Typed {
        final KernelHandle axpby, activation, geglu, addChannelBias, fillRows, fillRowsResidual, concatChannels, permute, gatherRows,
                upsampleNearest, timestepEmbedding, ddimStep, layerNorm, groupNormPartial, groupNormApply, conv2d;
        /** f32 → this type and back; null for F32. */
        final KernelHandle fromF32, toF32;
        private final KernelHandle[] attention = new KernelHandle[HEAD_BUCKETS.length];
        private final KernelHandle[] attentionTemporal = new KernelHandle[HEAD_BUCKETS.length];

        private Typed(DeviceApi api, DType t) {
            String s = "_" + suffix(t);
            axpby = api.kernel("axpby" + s);
            activation = api.kernel("activation" + s);
            geglu = api.kernel("geglu" + s);
            addChannelBias = api.kernel("add_channel_bias" + s);
            fillRows = api.kernel("fill_rows" + s);
            fillRowsResidual = api.kernel("fill_rows_residual" + s);
            concatChannels = api.kernel("concat_channels" + s);
            permute = api.kernel("permute" + s);
            gatherRows = api.kernel("gather_rows" + s);
            upsampleNearest = api.kernel("upsample_nearest" + s);
            timestepEmbedding = api.kernel("timestep_embedding" + s);
            ddimStep = api.kernel("ddim_step" + s);
            layerNorm = api.kernel("layernorm" + s);
            groupNormPartial = api.kernel("groupnorm_partial" + s);
            groupNormApply = api.kernel("groupnorm_apply" + s);
            conv2d = api.kernel("conv2d" + s);
            fromF32 = t == DType.F32 ? null : api.kernel("convert_f32_to" + s);
            toF32 = t == DType.F32 ? null : api.kernel("convert" + s + "_to_f32");
            for (int b = 0; b < HEAD_BUCKETS.length; b++) {
                attention[b] = api.kernel("attention_d" + HEAD_BUCKETS[b] + s);
                attentionTemporal[b] = api.kernel("attention_temporal_d" + HEAD_BUCKETS[b] + s);
            }
        }

        KernelHandle attention(int headSize) { return attention[headBucket(headSize)]; }

        KernelHandle attentionTemporal(int headSize) { return attentionTemporal[headBucket(headSize)]; }
    }

    final KernelHandle groupNormFinalize;
    private final Typed[] typed = new Typed[TYPES.length];

    CudaKernels(DeviceApi api) {
        groupNormFinalize = api.kernel("groupnorm_finalize");
        for (DType t : TYPES) typed[t.ordinal()] = new Typed(api, t);
    }

    /** The kernels storing {@code t}. */
    Typed of(DType t) { return typed[t.ordinal()]; }

    static String suffix(DType t) {
        return switch (t) {
            case F32 -> "f32";
            case F16 -> "f16";
            case BF16 -> "bf16";
        };
    }

    /** The kind code of attention.cu, attention_tc.cu and their backward (TEMPORAL has kernels of its own). */
    static int attentionCode(AttentionKind kind) {
        return switch (kind) {
            case SELF -> 0;
            case CAUSAL -> 1;
            case SPARSE_CAUSAL -> 2;
            case CROSS -> 3;
            case TEMPORAL -> throw new IllegalArgumentException("TEMPORAL attention has no kind code: it runs its own kernels");
        };
    }

    /** Keys a query sees for key images of lk tokens: sparse-causal reads two (frame 0 and the previous frame). */
    static int keysPerQuery(AttentionKind kind, int lk) {
        return kind == AttentionKind.SPARSE_CAUSAL ? 2 * lk : lk;
    }

    /** Index into {@link #HEAD_BUCKETS} for head size d; throws above the largest bucket. */
    static int headBucket(int d) {
        for (int b = 0; b < HEAD_BUCKETS.length; b++) if (d <= HEAD_BUCKETS[b]) return b;
        throw new IllegalArgumentException("attention: head size " + d + " is above the largest supported ("
                + HEAD_BUCKETS[HEAD_BUCKETS.length - 1] + ")");
    }
}
