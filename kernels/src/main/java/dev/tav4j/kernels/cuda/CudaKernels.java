package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceApi.KernelHandle;

/**
 * Every kernel of the tav4j module, resolved once when the backend is created (a missing kernel fails there,
 * not in the middle of a step). Names follow native/src: {@code <op>_<storage type>}; attention kernels are
 * bucketed by head size ({@link #HEAD_BUCKETS}).
 */
final class CudaKernels {
    /** Head-size buckets of the attention kernels: a head of size D runs the smallest bucket >= D. */
    static final int[] HEAD_BUCKETS = {8, 16, 32, 40, 64, 80, 128, 160};
    private static final DType[] TYPES = DType.values();

    final KernelHandle axpby, activation, geglu, addChannelBias, fillRows, concatChannels, permute, gatherRows,
            upsampleNearest, timestepEmbedding, ddimStep, layerNorm, groupNormFinalize;
    private final KernelHandle[] groupNormPartial, groupNormApply, conv2d, toF32, fromF32;
    private final KernelHandle[][] attention, attentionTemporal;

    CudaKernels(DeviceApi api) {
        axpby = api.kernel("axpby_f32");
        activation = api.kernel("activation_f32");
        geglu = api.kernel("geglu_f32");
        addChannelBias = api.kernel("add_channel_bias_f32");
        fillRows = api.kernel("fill_rows_f32");
        concatChannels = api.kernel("concat_channels_f32");
        permute = api.kernel("permute_f32");
        gatherRows = api.kernel("gather_rows_f32");
        upsampleNearest = api.kernel("upsample_nearest_f32");
        timestepEmbedding = api.kernel("timestep_embedding_f32");
        ddimStep = api.kernel("ddim_step_f32");
        layerNorm = api.kernel("layernorm_f32");
        groupNormFinalize = api.kernel("groupnorm_finalize");
        groupNormPartial = new KernelHandle[TYPES.length];
        groupNormApply = new KernelHandle[TYPES.length];
        conv2d = new KernelHandle[TYPES.length];
        toF32 = new KernelHandle[TYPES.length];
        fromF32 = new KernelHandle[TYPES.length];
        attention = new KernelHandle[TYPES.length][HEAD_BUCKETS.length];
        attentionTemporal = new KernelHandle[TYPES.length][HEAD_BUCKETS.length];
        for (DType t : TYPES) {
            String s = suffix(t);
            int i = t.ordinal();
            groupNormPartial[i] = api.kernel("groupnorm_partial_" + s);
            groupNormApply[i] = api.kernel("groupnorm_apply_" + s);
            conv2d[i] = api.kernel("conv2d_" + s);
            if (t != DType.F32) {
                toF32[i] = api.kernel("convert_" + s + "_to_f32");
                fromF32[i] = api.kernel("convert_f32_to_" + s);
            }
            for (int b = 0; b < HEAD_BUCKETS.length; b++) {
                attention[i][b] = api.kernel("attention_d" + HEAD_BUCKETS[b] + "_" + s);
                attentionTemporal[i][b] = api.kernel("attention_temporal_d" + HEAD_BUCKETS[b] + "_" + s);
            }
        }
    }

    static String suffix(DType t) {
        return switch (t) {
            case F32 -> "f32";
            case F16 -> "f16";
            case BF16 -> "bf16";
        };
    }

    /** Index into {@link #HEAD_BUCKETS} for head size d; throws above the largest bucket. */
    static int headBucket(int d) {
        for (int b = 0; b < HEAD_BUCKETS.length; b++) if (d <= HEAD_BUCKETS[b]) return b;
        throw new IllegalArgumentException("attention: head size " + d + " is above the largest supported ("
                + HEAD_BUCKETS[HEAD_BUCKETS.length - 1] + ")");
    }

    KernelHandle groupNormPartial(DType t) { return groupNormPartial[t.ordinal()]; }

    KernelHandle groupNormApply(DType t) { return groupNormApply[t.ordinal()]; }

    KernelHandle conv2d(DType t) { return conv2d[t.ordinal()]; }

    KernelHandle toF32(DType t) { return toF32[t.ordinal()]; }

    KernelHandle fromF32(DType t) { return fromF32[t.ordinal()]; }

    KernelHandle attention(DType t, int headSize) { return attention[t.ordinal()][headBucket(headSize)]; }

    KernelHandle attentionTemporal(DType t, int headSize) { return attentionTemporal[t.ordinal()][headBucket(headSize)]; }
}
