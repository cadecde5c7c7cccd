package dev.tav4j.model.config;

import com.fasterxml.jackson.databind.JsonNode;

/** text_encoder/config.json of a transformers CLIPTextModel. */
public record ClipTextConfig(int hiddenSize, int intermediateSize, int heads, int layers, int maxPositions,
                             int vocabSize, String hiddenAct, float layerNormEps) {

    public static ClipTextConfig parse(JsonNode n, String where) {
        JsonNode arch = n.get("architectures");
        if (arch != null && arch.isArray() && arch.size() > 0) {
            String a = arch.get(0).asText();
            if (!a.equals("CLIPTextModel") && !a.equals("CLIPTextModelWithProjection"))
                throw new ConfigException(where + ": unknown text encoder architecture '" + a + "' (supported: CLIPTextModel)");
        }
        String act = Json.strOr(n, "hidden_act", "quick_gelu");
        if (!act.equals("quick_gelu") && !act.equals("gelu"))
            throw new ConfigException(where + ": unsupported hidden_act '" + act + "'");
        int hidden = Json.requireInt(n, "hidden_size", where);
        int heads = Json.intOr(n, "num_attention_heads", 8);
        if (heads <= 0) throw new ConfigException(where + ": num_attention_heads " + n.get("num_attention_heads") + " must be positive");
        if (hidden % heads != 0) throw new ConfigException(where + ": hidden_size " + hidden + " not divisible by " + heads + " heads");
        return new ClipTextConfig(hidden, Json.requireInt(n, "intermediate_size", where), heads,
                Json.requireInt(n, "num_hidden_layers", where), Json.intOr(n, "max_position_embeddings", 77),
                Json.intOr(n, "vocab_size", 49408), act, Json.floatOr(n, "layer_norm_eps", 1e-5f));
    }
}
