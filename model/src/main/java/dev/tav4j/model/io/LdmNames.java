package dev.tav4j.model.io;

/**
 * Names of the original Stable Diffusion (LDM) checkpoint layout in diffusers' terms, as diffusers'
 * {@code convert_from_ckpt.py} converts them ({@code convert_ldm_unet_checkpoint}, {@code convert_ldm_vae_checkpoint},
 * {@code convert_ldm_clip_checkpoint}, {@code convert_open_clip_checkpoint}). Each function takes a key without its
 * component prefix and returns the diffusers name, or null for a key diffusers does not convert.
 */
final class LdmNames {
    static final String UNET = "model.diffusion_model.", VAE = "first_stage_model.",
            CLIP = "cond_stage_model.transformer.", OPEN_CLIP = "cond_stage_model.model.";

    private LdmNames() {}

    /** {@code renew_resnet_paths}. */
    private static String resnet(String rest) {
        String[][] r = {{"in_layers.0.", "norm1."}, {"in_layers.2.", "conv1."}, {"out_layers.0.", "norm2."},
                {"out_layers.3.", "conv2."}, {"emb_layers.1.", "time_emb_proj."}, {"skip_connection.", "conv_shortcut."}};
        for (String[] p : r) if (rest.startsWith(p[0])) return p[1] + rest.substring(p[0].length());
        return rest;
    }

    /** One UNet key; {@code layersPerBlock} sets how input_blocks/output_blocks fall into diffusers' blocks. */
    static String unet(String k, int layersPerBlock) {
        String[][] fixed = {{"time_embed.0.", "time_embedding.linear_1."}, {"time_embed.2.", "time_embedding.linear_2."},
                {"input_blocks.0.0.", "conv_in."}, {"out.0.", "conv_norm_out."}, {"out.2.", "conv_out."}};
        for (String[] p : fixed) if (k.startsWith(p[0])) return p[1] + k.substring(p[0].length());
        String[] s = k.split("\\.", 4);
        if (s.length < 4 && !(s.length == 3 && s[0].equals("middle_block"))) return null;
        int per = layersPerBlock + 1;
        try {
            switch (s[0]) {
                case "input_blocks" -> {
                    int i = Integer.parseInt(s[1]), j = Integer.parseInt(s[2]);
                    int b = (i - 1) / per, l = (i - 1) % per;
                    if (j == 0 && s[3].startsWith("op.")) return "down_blocks." + b + ".downsamplers.0.conv." + s[3].substring(3);
                    if (j == 0) return "down_blocks." + b + ".resnets." + l + "." + resnet(s[3]);
                    if (j == 1) return "down_blocks." + b + ".attentions." + l + "." + s[3];
                    return null;
                }
                case "middle_block" -> {
                    String[] m = k.split("\\.", 3);
                    return switch (m[1]) {
                        case "0" -> "mid_block.resnets.0." + resnet(m[2]);
                        case "1" -> "mid_block.attentions.0." + m[2];
                        case "2" -> "mid_block.resnets.1." + resnet(m[2]);
                        default -> null;
                    };
                }
                case "output_blocks" -> {
                    int i = Integer.parseInt(s[1]), j = Integer.parseInt(s[2]);
                    int b = i / per, l = i % per;
                    if (j == 0) return "up_blocks." + b + ".resnets." + l + "." + resnet(s[3]);
                    // a block without attention has its upsampler at index 1, one with attention at index 2
                    if (j == 1 && (s[3].equals("conv.weight") || s[3].equals("conv.bias"))) return "up_blocks." + b + ".upsamplers.0." + s[3];
                    if (j == 1) return "up_blocks." + b + ".attentions." + l + "." + s[3];
                    if (j == 2 && s[3].startsWith("conv.")) return "up_blocks." + b + ".upsamplers.0." + s[3];
                    return null;
                }
                default -> { return null; }
            }
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** One VAE key; {@code upBlocks} (the decoder's block count) reverses the decoder's numbering. */
    static String vae(String k, int upBlocks) {
        String[][] fixed = {{"encoder.norm_out.", "encoder.conv_norm_out."}, {"decoder.norm_out.", "decoder.conv_norm_out."}};
        for (String[] p : fixed) if (k.startsWith(p[0])) return p[1] + k.substring(p[0].length());
        for (String p : new String[]{"encoder.conv_in.", "encoder.conv_out.", "decoder.conv_in.", "decoder.conv_out.", "quant_conv.", "post_quant_conv."})
            if (k.startsWith(p)) return k;
        String[] s = k.split("\\.", 5);
        if (s.length < 4) return null;
        String side = s[0];
        if (!side.equals("encoder") && !side.equals("decoder")) return null;
        try {
            if (side.equals("encoder") && s[1].equals("down") && s.length == 5) {
                int i = Integer.parseInt(s[2]);
                if (s[3].equals("downsample")) return "encoder.down_blocks." + i + ".downsamplers.0." + s[4];
                if (s[3].equals("block")) return blockResnet("encoder.down_blocks." + i + ".resnets.", s[4]);
                return null;
            }
            if (side.equals("decoder") && s[1].equals("up") && s.length == 5) {
                int i = upBlocks - 1 - Integer.parseInt(s[2]);
                if (s[3].equals("upsample")) return "decoder.up_blocks." + i + ".upsamplers.0." + s[4];
                if (s[3].equals("block")) return blockResnet("decoder.up_blocks." + i + ".resnets.", s[4]);
                return null;
            }
        } catch (NumberFormatException e) {
            return null;
        }
        if (s[1].equals("mid")) {
            String rest = k.substring((side + ".mid." + s[2] + ".").length());
            switch (s[2]) {
                case "block_1": return side + ".mid_block.resnets.0." + vaeResnet(rest);
                case "block_2": return side + ".mid_block.resnets.1." + vaeResnet(rest);
                case "attn_1": {
                    String[][] r = {{"norm.", "group_norm."}, {"q.", "to_q."}, {"k.", "to_k."}, {"v.", "to_v."}, {"proj_out.", "to_out.0."}};
                    for (String[] p : r) if (rest.startsWith(p[0])) return side + ".mid_block.attentions.0." + p[1] + rest.substring(p[0].length());
                    return null;
                }
                default: return null;
            }
        }
        return null;
    }

    private static String blockResnet(String prefix, String jRest) {
        int dot = jRest.indexOf('.');
        if (dot < 0) return null;
        return prefix + jRest.substring(0, dot) + "." + vaeResnet(jRest.substring(dot + 1));
    }

    /** {@code renew_vae_resnet_paths}. */
    private static String vaeResnet(String rest) {
        return rest.startsWith("nin_shortcut.") ? "conv_shortcut." + rest.substring("nin_shortcut.".length()) : rest;
    }

    /** SD 1.x: transformers' CLIP names, with or without the {@code text_model.} level. */
    static String clip(String k) {
        if (k.endsWith("position_ids")) return null;
        return k.startsWith("text_model.") ? k : "text_model." + k;
    }

    /**
     * SD 2.x OpenCLIP, except the fused {@code attn.in_proj_*} (split by the caller): {@code textenc_conversion_map}
     * and {@code textenc_transformer_conversion_lst}. {@code text_projection} is null: CLIPTextModel has none.
     */
    static String openClip(String k) {
        switch (k) {
            case "positional_embedding": return "text_model.embeddings.position_embedding.weight";
            case "token_embedding.weight": return "text_model.embeddings.token_embedding.weight";
            case "ln_final.weight": return "text_model.final_layer_norm.weight";
            case "ln_final.bias": return "text_model.final_layer_norm.bias";
            default: break;
        }
        if (!k.startsWith("transformer.resblocks.")) return null;
        String rest = k.substring("transformer.resblocks.".length());
        int dot = rest.indexOf('.');
        if (dot < 0) return null;
        String layer = rest.substring(0, dot), tail = rest.substring(dot + 1);
        String[][] r = {{"ln_1.", "layer_norm1."}, {"ln_2.", "layer_norm2."}, {"mlp.c_fc.", "mlp.fc1."}, {"mlp.c_proj.", "mlp.fc2."},
                {"attn.out_proj.", "self_attn.out_proj."}};
        for (String[] p : r) if (tail.startsWith(p[0])) return "text_model.encoder.layers." + layer + "." + p[1] + tail.substring(p[0].length());
        return null;
    }

    /** The resblock index of an OpenCLIP transformer key, or -1. */
    static int openClipLayer(String k) {
        if (!k.startsWith("transformer.resblocks.")) return -1;
        String rest = k.substring("transformer.resblocks.".length());
        int dot = rest.indexOf('.');
        try {
            return dot < 0 ? -1 : Integer.parseInt(rest.substring(0, dot));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
