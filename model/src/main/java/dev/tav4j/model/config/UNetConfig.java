package dev.tav4j.model.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * unet/config.json of a diffusers UNet2DConditionModel or a Tune-A-Video UNet3DConditionModel.
 * {@code heads[i]} is the head count of down block i (attention_head_dim, an int or one per block); the
 * up blocks use it reversed, the mid block uses the last.
 */
public record UNetConfig(
        String className,
        int inChannels,
        int outChannels,
        int[] blockOutChannels,
        int layersPerBlock,
        int normNumGroups,
        float normEps,
        int crossAttentionDim,
        int[] heads,
        boolean useLinearProjection,
        List<String> downBlockTypes,
        List<String> upBlockTypes,
        boolean flipSinToCos,
        int freqShift,
        int downsamplePadding,
        boolean centerInputSample,
        int sampleSize,
        String predictionHint) {

    private static final Set<String> DOWN = Set.of("CrossAttnDownBlock2D", "DownBlock2D", "CrossAttnDownBlock3D", "DownBlock3D");
    private static final Set<String> UP = Set.of("CrossAttnUpBlock2D", "UpBlock2D", "CrossAttnUpBlock3D", "UpBlock3D");

    /** Whether this is a tuned Tune-A-Video UNet3D (temporal layers stored with the weights). */
    public boolean is3D() { return "UNet3DConditionModel".equals(className); }

    /** Whether down block i has attention. */
    public boolean downHasAttention(int i) { return downBlockTypes.get(i).startsWith("CrossAttn"); }

    /** Whether up block i has attention. */
    public boolean upHasAttention(int i) { return upBlockTypes.get(i).startsWith("CrossAttn"); }

    public static UNetConfig parse(JsonNode n, String where) {
        String cls = Json.strOr(n, "_class_name", "UNet2DConditionModel");
        if (!cls.equals("UNet2DConditionModel") && !cls.equals("UNet3DConditionModel"))
            throw new ConfigException(where + ": unknown UNet architecture '" + cls
                    + "' (supported: UNet2DConditionModel, UNet3DConditionModel)");
        int[] channels = Json.intArray(n, "block_out_channels", where);
        List<String> down = Json.strings(n, "down_block_types", where);
        List<String> up = Json.strings(n, "up_block_types", where);
        if (down.size() != channels.length || up.size() != channels.length)
            throw new ConfigException(where + ": " + channels.length + " block_out_channels but " + down.size()
                    + " down_block_types and " + up.size() + " up_block_types");
        for (String t : down) if (!DOWN.contains(t)) throw new ConfigException(where + ": unknown down block type '" + t + "'");
        for (String t : up) if (!UP.contains(t)) throw new ConfigException(where + ": unknown up block type '" + t + "'");
        String mid = Json.strOr(n, "mid_block_type", "UNetMidBlock2DCrossAttn");
        if (!mid.equals("UNetMidBlock2DCrossAttn") && !mid.equals("UNetMidBlock3DCrossAttn"))
            throw new ConfigException(where + ": unknown mid block type '" + mid + "'");
        if (Json.boolOr(n, "dual_cross_attention", false) || Json.boolOr(n, "only_cross_attention", false))
            throw new ConfigException(where + ": dual_cross_attention / only_cross_attention are not supported");
        if (n.has("class_embed_type") && !n.get("class_embed_type").isNull())
            throw new ConfigException(where + ": class_embed_type is not supported");
        if (Json.boolOr(n, "center_input_sample", false))
            throw new ConfigException(where + ": center_input_sample is not supported (Stable Diffusion does not use it)");
        int[] heads = new int[channels.length];
        JsonNode h = n.get("attention_head_dim");
        if (h == null || h.isNull()) Arrays.fill(heads, 8);
        else if (h.isArray()) {
            if (h.size() != channels.length)
                throw new ConfigException(where + ": attention_head_dim has " + h.size() + " entries for " + channels.length + " blocks");
            for (int i = 0; i < heads.length; i++) heads[i] = h.get(i).asInt();
        } else Arrays.fill(heads, h.asInt());
        for (int i = 0; i < heads.length; i++)
            if (heads[i] <= 0) throw new ConfigException(where + ": attention_head_dim " + h + " must be positive");
        int groups = Json.intOr(n, "norm_num_groups", 32);
        if (groups <= 0) throw new ConfigException(where + ": norm_num_groups " + n.get("norm_num_groups") + " must be positive");
        for (int c : channels)
            if (c % groups != 0) throw new ConfigException(where + ": block_out_channels " + c + " not divisible by norm_num_groups " + groups);
        for (int i = 0; i < channels.length; i++)
            if (channels[i] % heads[i] != 0)
                throw new ConfigException(where + ": channels " + channels[i] + " not divisible by " + heads[i] + " heads");
        return new UNetConfig(cls,
                Json.intOr(n, "in_channels", 4), Json.intOr(n, "out_channels", 4), channels,
                Json.intOr(n, "layers_per_block", 2), groups, Json.floatOr(n, "norm_eps", 1e-5f),
                Json.intOr(n, "cross_attention_dim", 1280), heads,
                Json.boolOr(n, "use_linear_projection", false), down, up,
                Json.boolOr(n, "flip_sin_to_cos", true), Json.intOr(n, "freq_shift", 0),
                Json.intOr(n, "downsample_padding", 1), Json.boolOr(n, "center_input_sample", false),
                Json.intOr(n, "sample_size", 64), Json.strOr(n, "prediction_type", null));
    }
}
