package dev.tav4j.model.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;

/**
 * config.json of a transformers {@code CLIPModel} (e.g. openai/clip-vit-large-patch14): the text and vision towers'
 * configs and the dimension both project to. Keys a config leaves out take transformers' defaults; the legacy
 * {@code text_config_dict}/{@code vision_config_dict} override {@code text_config}/{@code vision_config} as
 * transformers lets them.
 */
public record ClipModelConfig(ClipTextConfig text, ClipVisionConfig vision, int projectionDim) {

    public static ClipModelConfig read(Path file) {
        return parse(Json.read(file), file.toString());
    }

    public static ClipModelConfig parse(JsonNode n, String where) {
        if (!n.isObject()) throw new ConfigException(where + ": expected a JSON object");
        String type = n.path("model_type").asText("");
        JsonNode arch = n.get("architectures");
        String first = arch != null && arch.isArray() && !arch.isEmpty() ? arch.get(0).asText() : "";
        boolean clip = type.equals("clip") || first.equals("CLIPModel");
        if (!clip) {
            String what = !first.isEmpty() ? "architecture '" + first + "'" : !type.isEmpty() ? "model_type '" + type + "'"
                    : n.has("_class_name") || n.has("_diffusers_version") ? "a diffusers config" : "no model_type";
            throw new ConfigException(where + ": not a CLIP model (" + what + "); tav eval needs a transformers CLIPModel "
                    + "folder (model_type 'clip' with text_config and vision_config, e.g. openai/clip-vit-large-patch14)");
        }
        JsonNode text = merged(n, "text_config", where);
        JsonNode vision = merged(n, "vision_config", where);
        ObjectNode t = (ObjectNode) text;
        // transformers' CLIPTextConfig defaults for the keys ClipTextConfig requires
        if (!t.has("hidden_size") || t.get("hidden_size").isNull()) t.put("hidden_size", 512);
        if (!t.has("intermediate_size") || t.get("intermediate_size").isNull()) t.put("intermediate_size", 2048);
        if (!t.has("num_hidden_layers") || t.get("num_hidden_layers").isNull()) t.put("num_hidden_layers", 12);
        return new ClipModelConfig(ClipTextConfig.parse(t, where + " text_config"),
                ClipVisionConfig.parse(vision, where + " vision_config"), Json.intAtLeast(n, "projection_dim", 512, 1, where));
    }

    /** {@code key} as an object (empty when absent), with {@code key + "_dict"} laid over it. */
    private static JsonNode merged(JsonNode n, String key, String where) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        for (String k : new String[]{key, key + "_dict"}) {
            JsonNode v = n.get(k);
            if (v == null || v.isNull()) continue;
            if (!v.isObject()) throw Json.wrongType(where, k, "an object", v);
            out.setAll((ObjectNode) v);
        }
        return out;
    }
}
