package dev.tav4j.model.tune;

import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.golden.Parity;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.pipeline.SmokeTestModel;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Tuning with per-block recomputation (the default) and with every intermediate kept give the same step. */
class GradientCheckpointingTest {
    private final Ops ops = Backends.select("cpu");

    private Map<String, Tensor> twoSteps(boolean checkpointing, float[] losses) {
        try (UNet3D unet = UNetLoader.build(ops, SmokeTestModel.unetConfig(), new RandomWeights("unet", 9), null, 4);
             Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()),
                     TuneSettings.defaults().withGradientCheckpointing(checkpointing))) {
            Gaussian g = new Gaussian(21);
            try (Tensor lat = g.tensor(3, 8, 8, 4); Tensor noise = g.tensor(3, 8, 8, 4); Tensor text = g.tensor(1, 77, 32);
                 Tensor x = ops.upload(lat); Tensor e = ops.upload(noise); Tensor t = ops.upload(text)) {
                for (int k = 0; k < 2; k++) losses[k] = tuner.step(x, e, 3, new int[]{300 + 400 * k}, t).loss();
            }
            return tuner.trainedParametersTorchLayout();
        }
    }

    @Test
    void sameResultWithAndWithoutCheckpointing() {
        float[] a = new float[2], b = new float[2];
        Map<String, Tensor> with = twoSteps(true, a), without = twoSteps(false, b);
        assertEquals(a[0], b[0], 1e-6f * Math.abs(a[0]));
        assertEquals(a[1], b[1], 1e-6f * Math.abs(a[1]));
        // the same arithmetic in the same order, up to the last-bit EXP rounding between JIT tiers, which AdamW can
        // turn into ±lr on near-zero gradients: the rule for tuned parameters of docs/semantics.md
        Parity.Tally tally = Parity.Tally.params("checkpointing on vs off");
        for (String name : with.keySet()) {
            try (Tensor p = with.get(name); Tensor q = without.get(name)) {
                tally.add(name, q, p);
            }
        }
        tally.check();
    }
}
