package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.device.DeviceApi;

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
        final Kernel axpby, mul, fill, fillFrom, sumPartial, sumFinal, activation, geglu, addChannelBias, fillRows, fillRowsResidual, concatChannels, permute, gatherRows,
                upsampleNearest, timestepEmbedding, ddimStep, layerNorm, groupNormPartial, groupNormApply, conv2d;
        /** f32 → this type and back; null for F32. */
        final Kernel fromF32, toF32;
        private final Kernel[] attention = new Kernel[HEAD_BUCKETS.length];
        private final Kernel[] attentionTemporal = new Kernel[HEAD_BUCKETS.length];

        private Typed(DeviceApi api, DType t) {
            String s = "_" + suffix(t);
            axpby = Kernel.lookup(api, "axpby" + s, "PPPFFL");
            mul = Kernel.lookup(api, "mul" + s, "PPPL");
            fill = Kernel.lookup(api, "fill" + s, "PFL");
            fillFrom = Kernel.lookup(api, "fill_from" + s, "PPL");
            sumPartial = Kernel.lookup(api, "sum_partial" + s, "PPL");
            sumFinal = Kernel.lookup(api, "sum_final" + s, "PIP");
            activation = Kernel.lookup(api, "activation" + s, "PPIL");
            geglu = Kernel.lookup(api, "geglu" + s, "PPLI");
            addChannelBias = Kernel.lookup(api, "add_channel_bias" + s, "PPPLILI");
            fillRows = Kernel.lookup(api, "fill_rows" + s, "PPLI");
            fillRowsResidual = Kernel.lookup(api, "fill_rows_residual" + s, "PPPLI");
            concatChannels = Kernel.lookup(api, "concat_channels" + s, "PPPLII");
            permute = Kernel.lookup(api, "permute" + s, "PPLIIIIIILLLLLL");
            gatherRows = Kernel.lookup(api, "gather_rows" + s, "PPPLI");
            upsampleNearest = Kernel.lookup(api, "upsample_nearest" + s, "PPIIIIII");
            timestepEmbedding = Kernel.lookup(api, "timestep_embedding" + s, "PPIIIF");
            ddimStep = Kernel.lookup(api, "ddim_step" + s, "PPPLFFFF");
            layerNorm = Kernel.lookup(api, "layernorm" + s, "PPPPLIF");
            groupNormPartial = Kernel.lookup(api, "groupnorm_partial" + s, "PPIILIL");
            groupNormApply = Kernel.lookup(api, "groupnorm_apply" + s, "PPPPPLIILII");
            conv2d = Kernel.lookup(api, "conv2d" + s, "PPPPPIIIIIIIIIIII");
            fromF32 = t == DType.F32 ? null : Kernel.lookup(api, "convert_f32_to" + s, "PPL");
            toF32 = t == DType.F32 ? null : Kernel.lookup(api, "convert" + s + "_to_f32", "PPL");
            for (int b = 0; b < HEAD_BUCKETS.length; b++) {
                attention[b] = Kernel.lookup(api, "attention_d" + HEAD_BUCKETS[b] + s, "PPPPIIIIIIIIF");
                attentionTemporal[b] = Kernel.lookup(api, "attention_temporal_d" + HEAD_BUCKETS[b] + s, "PPPPIIIIIIF");
            }
        }

        Kernel attention(int headSize) { return attention[headBucket(headSize)]; }

        Kernel attentionTemporal(int headSize) { return attentionTemporal[headBucket(headSize)]; }
    }

    final Kernel groupNormFinalize;
    private final Typed[] typed = new Typed[TYPES.length];

    CudaKernels(DeviceApi api) {
        groupNormFinalize = Kernel.lookup(api, "groupnorm_finalize", "PPIIF");
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
