package dev.tav4j.model.config;

import com.fasterxml.jackson.databind.JsonNode;

/** The {@code vision_config} of a transformers CLIPModel (defaults: transformers' CLIPVisionConfig). */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int heads, int layers, int imageSize, int patchSize,
                               int channels, String hiddenAct, float layerNormEps) {

    /** Patches along one side of the (square) input image. */
    public int gridSize() { return imageSize / patchSize; }

    /** Tokens of one image: the class token and one per patch. */
    public int tokens() { return 1 + gridSize() * gridSize(); }

    public static ClipVisionConfig parse(JsonNode n, String where) {
        String act = Json.strOr(n, "hidden_act", "quick_gelu", where);
        if (!act.equals("quick_gelu") && !act.equals("gelu"))
            throw new ConfigException(where + ": unsupported hidden_act '" + act + "' (supported: quick_gelu, gelu)");
        int hidden = Json.intAtLeast(n, "hidden_size", 768, 1, where);
        int heads = Json.intAtLeast(n, "num_attention_heads", 12, 1, where);
        if (hidden % heads != 0) throw new ConfigException(where + ": hidden_size " + hidden + " not divisible by " + heads + " heads");
        int image = Json.intAtLeast(n, "image_size", 224, 1, where);
        int patch = Json.intAtLeast(n, "patch_size", 32, 1, where);
        if (patch > image) throw new ConfigException(where + ": patch_size " + patch + " larger than image_size " + image);
        int channels = Json.intAtLeast(n, "num_channels", 3, 1, where);
        if (channels != 3) throw new ConfigException(where + ": num_channels " + channels + " (only RGB models, 3 channels, are supported)");
        return new ClipVisionConfig(hidden, Json.intAtLeast(n, "intermediate_size", 3072, 1, where), heads,
                Json.intAtLeast(n, "num_hidden_layers", 12, 1, where), image, patch, channels, act,
                Json.floatOr(n, "layer_norm_eps", 1e-5f, where));
    }
}
