package dev.tav4j.model.config;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * scheduler/scheduler_config.json. The class may say PNDM or DDIM; only the betas and the DDIM-relevant fields
 * matter (Tune-A-Video always samples with DDIM).
 */
public record SchedulerConfig(int numTrainTimesteps, double betaStart, double betaEnd, String betaSchedule,
                              float[] trainedBetas, boolean setAlphaToOne, int stepsOffset,
                              String predictionType, boolean clipSample) {

    public static SchedulerConfig defaults() {
        return new SchedulerConfig(1000, 0.00085, 0.012, "scaled_linear", null, false, 1, "epsilon", false);
    }

    public static SchedulerConfig parse(JsonNode n, String where) {
        String sched = Json.strOr(n, "beta_schedule", "scaled_linear", where);
        if (!sched.equals("scaled_linear") && !sched.equals("linear"))
            throw new ConfigException(where + ": unsupported beta_schedule '" + sched + "' (supported: scaled_linear, linear)");
        String pred = Json.strOr(n, "prediction_type", "epsilon", where);
        if (!pred.equals("epsilon") && !pred.equals("v_prediction"))
            throw new ConfigException(where + ": unsupported prediction_type '" + pred + "'");
        float[] trained = null;
        JsonNode tb = n.get("trained_betas");
        if (tb != null && tb.isArray()) {
            trained = new float[tb.size()];
            for (int i = 0; i < trained.length; i++) {
                if (!tb.get(i).isNumber()) throw Json.wrongType(where, "trained_betas[" + i + "]", "a number", tb.get(i));
                trained[i] = (float) tb.get(i).doubleValue();
            }
        }
        return new SchedulerConfig(Json.intAtLeast(n, "num_train_timesteps", 1000, 1, where), Json.doubleOr(n, "beta_start", 0.0001, where),
                Json.doubleOr(n, "beta_end", 0.02, where), sched, trained, Json.boolOr(n, "set_alpha_to_one", true, where),
                Json.intOr(n, "steps_offset", 0, where), pred, Json.boolOr(n, "clip_sample", true, where));
    }
}
