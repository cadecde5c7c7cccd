package dev.tav4j.model.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tav4j.model.config.ConfigException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The original LDM inference YAML ({@code v1-inference.yaml}, {@code v2-inference.yaml}, {@code v2-inference-v.yaml}):
 * it selects the built-in SD 1.5 or SD 2.1 configs by its UNet's {@code context_dim}, and sets the prediction type
 * ({@code parameterization: "v"}) and the noise schedule ({@code timesteps}, {@code linear_start}, {@code linear_end}).
 * A YAML whose UNet differs from those standard shapes is refused: give a diffusers config folder then.
 */
final class LdmYaml {
    private LdmYaml() {}

    static void apply(Path yaml, SingleFileCheckpoint.Found found, Map<String, JsonNode> configs, Map<String, String> where) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(yaml.toFile());
        } catch (IOException e) {
            throw new ConfigException("--config " + yaml + ": not valid YAML: " + e.getMessage().lines().findFirst().orElse(""));
        }
        JsonNode params = root == null ? null : root.path("model").path("params");
        JsonNode unet = params == null ? null : params.path("unet_config").path("params");
        if (unet == null || unet.isMissingNode() || !unet.has("context_dim"))
            throw new ConfigException("--config " + yaml + ": not an LDM inference YAML (no model.params.unet_config.params.context_dim)");
        int ctx = unet.path("context_dim").asInt(), channels = unet.path("model_channels").asInt(), res = unet.path("num_res_blocks").asInt();
        boolean linear = unet.path("use_linear_in_transformer").asBoolean(false);
        String name = ctx == 768 && !linear ? "sd15" : ctx == 1024 && linear ? "sd21" : null;
        if (name == null || channels != 320 || res != 2 || unet.path("in_channels").asInt(4) != 4)
            throw new ConfigException("--config " + yaml + ": a UNet with context_dim " + ctx + ", model_channels " + channels
                    + ", num_res_blocks " + res + (linear ? ", linear" : ", conv") + " projections is not SD 1.x or 2.x's; give --config a diffusers config folder");
        SingleFileCheckpoint.builtin(name, configs, where);
        ObjectNode sched = configs.get("scheduler").deepCopy();
        sched.put("prediction_type", "v".equals(params.path("parameterization").asText("eps")) ? "v_prediction" : "epsilon");
        if (params.has("timesteps")) sched.put("num_train_timesteps", params.path("timesteps").asInt());
        if (params.has("linear_start")) sched.put("beta_start", params.path("linear_start").asDouble());
        if (params.has("linear_end")) sched.put("beta_end", params.path("linear_end").asDouble());
        configs.put("scheduler", sched);
        for (String c : configs.keySet()) where.put(c, yaml + " (" + where.get(c) + ")");
    }
}
