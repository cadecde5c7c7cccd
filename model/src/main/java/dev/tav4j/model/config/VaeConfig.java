package dev.tav4j.model.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/** vae/config.json of a diffusers AutoencoderKL. */
public record VaeConfig(int inChannels, int outChannels, int[] blockOutChannels, int layersPerBlock,
                        int latentChannels, int normNumGroups, int sampleSize, float scalingFactor) {

    public static VaeConfig parse(JsonNode n, String where) {
        String cls = Json.strOr(n, "_class_name", "AutoencoderKL", where);
        if (!cls.equals("AutoencoderKL"))
            throw new ConfigException(where + ": unknown VAE architecture '" + cls + "' (supported: AutoencoderKL)");
        int[] ch = Json.intArray(n, "block_out_channels", where);
        List<String> down = Json.strings(n, "down_block_types", where);
        List<String> up = Json.strings(n, "up_block_types", where);
        for (String t : down) if (!t.equals("DownEncoderBlock2D")) throw new ConfigException(where + ": unknown down block type '" + t + "'");
        for (String t : up) if (!t.equals("UpDecoderBlock2D")) throw new ConfigException(where + ": unknown up block type '" + t + "'");
        if (down.size() != ch.length || up.size() != ch.length)
            throw new ConfigException(where + ": block counts do not match block_out_channels");
        return new VaeConfig(Json.intAtLeast(n, "in_channels", 3, 1, where), Json.intAtLeast(n, "out_channels", 3, 1, where), ch,
                Json.intAtLeast(n, "layers_per_block", 1, 1, where), Json.intAtLeast(n, "latent_channels", 4, 1, where),
                Json.intAtLeast(n, "norm_num_groups", 32, 1, where), Json.intOr(n, "sample_size", 512, where),
                Json.floatOr(n, "scaling_factor", 0.18215f, where));
    }
}
