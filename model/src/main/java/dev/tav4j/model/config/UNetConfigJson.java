package dev.tav4j.model.config;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Writes a {@link UNetConfig} as a config.json: of a tuned UNet3DConditionModel, as Tune-A-Video saves it, or of
 * diffusers' UNet2DConditionModel (a text-to-image UNet, as Stable Diffusion ships it).
 */
public final class UNetConfigJson {
    private UNetConfigJson() {}

    /** A UNet3DConditionModel (Tune-A-Video's tuned UNet). */
    public static ObjectNode tuned(UNetConfig c) {
        return write(c, "3D");
    }

    /** A UNet2DConditionModel: the same blocks without temporal layers (inflated when loaded for tuning). */
    public static ObjectNode image(UNetConfig c) {
        return write(c, "2D");
    }

    private static ObjectNode write(UNetConfig c, String dims) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("_class_name", "UNet" + dims + "ConditionModel");
        n.put("_diffusers_version", "0.11.1");
        n.put("sample_size", c.sampleSize());
        n.put("in_channels", c.inChannels());
        n.put("out_channels", c.outChannels());
        n.put("center_input_sample", false);
        n.put("flip_sin_to_cos", c.flipSinToCos());
        n.put("freq_shift", c.freqShift());
        ArrayNode down = n.putArray("down_block_types");
        c.downBlockTypes().forEach(t -> down.add(t.replace("3D", "2D").replace("2D", dims)));
        n.put("mid_block_type", "UNetMidBlock" + dims + "CrossAttn");
        ArrayNode up = n.putArray("up_block_types");
        c.upBlockTypes().forEach(t -> up.add(t.replace("3D", "2D").replace("2D", dims)));
        n.put("only_cross_attention", false);
        ArrayNode ch = n.putArray("block_out_channels");
        for (int v : c.blockOutChannels()) ch.add(v);
        n.put("layers_per_block", c.layersPerBlock());
        n.put("downsample_padding", c.downsamplePadding());
        n.put("mid_block_scale_factor", 1);
        n.put("act_fn", "silu");
        n.put("norm_num_groups", c.normNumGroups());
        n.put("norm_eps", c.normEps());
        n.put("cross_attention_dim", c.crossAttentionDim());
        ArrayNode heads = n.putArray("attention_head_dim");
        for (int h : c.heads()) heads.add(h);
        n.put("dual_cross_attention", false);
        n.put("use_linear_projection", c.useLinearProjection());
        n.putNull("class_embed_type");
        n.putNull("num_class_embeds");
        n.put("upcast_attention", c.upcastAttention());
        return n;
    }
}
