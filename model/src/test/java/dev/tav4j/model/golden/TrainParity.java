package dev.tav4j.model.golden;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.pipeline.VideoLayout;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.tune.Tuner;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Assertions;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/** The golden "train" case: three official tuning steps from the inflated 2D UNet. */
final class TrainParity {
    static final double SCALAR_TOL = 1e-4, GRAD_TOL = 1e-4;

    private TrainParity() {}

    static TuneSettings settings(GoldenCase c) {
        var h = c.json().path("hyper");
        List<String> modules = new ArrayList<>();
        h.path("trainable_modules").forEach(n -> modules.add(n.asText()));
        return new TuneSettings((float) h.path("lr").asDouble(), (float) h.path("betas").get(0).asDouble(),
                (float) h.path("betas").get(1).asDouble(), (float) h.path("weight_decay").asDouble(),
                (float) h.path("eps").asDouble(), (float) h.path("max_grad_norm").asDouble(), modules);
    }

    static void run(Ops ops, GoldenCase c) {
        run(ops, c, Integer.MAX_VALUE);
    }

    /**
     * The first {@code maxSteps} steps only (loss, grad_norm and, after step 0, the clipped gradients); the
     * after/* parameters are checked only when every step of the case ran.
     */
    static void run(Ops ops, GoldenCase c, int maxSteps) {
        CheckpointDir ckpt = CheckpointDir.open(c.path("model"));
        try (UNet3D unet = UNetLoader.load(ops, ckpt, null, c.path("unet_temporal_init"), 0);
             Tuner tuner = new Tuner(unet, new NoiseSchedule(ckpt.schedulerConfig()), settings(c));
             Tensor lat = c.tensor("latents"); Tensor noise = c.tensor("noise"); Tensor text = c.tensor("encoder_hidden_states");
             Tensor loss = c.tensor("loss"); Tensor gradNorm = c.tensor("grad_norm")) {
            Assertions.assertEquals(new TreeSet<>(c.list("trainable")), new TreeSet<>(tuner.trainable().keySet()), "trainable parameters");
            long[] ts = c.longs("timesteps");
            int frames = lat.dim(2);
            try (Tensor x = VideoLayout.toFrames(ops, lat); Tensor txt = ops.upload(text)) {
                for (int k = 0; k < Math.min(ts.length, maxSteps); k++) {
                    try (Tensor nk = noise.slice(k, 1).reshapeOwned(lat.shape()); Tensor e = VideoLayout.toFrames(ops, nk)) {
                        Tuner.StepResult r = tuner.step(x, e, frames, new int[]{(int) ts[k]}, txt);
                        scalar(c.label("loss[" + k + "]"), r.loss(), loss.get(k));
                        scalar(c.label("grad_norm[" + k + "]"), r.gradNorm(), gradNorm.get(k));
                        if (k == 0) {
                            double worst = 0;
                            for (String name : tuner.trainable().keySet()) {
                                try (Tensor got = tuner.clippedGradTorchLayout(name); Tensor ref = c.tensor("grad0/" + name)) {
                                    worst = Math.max(worst, Parity.relErr(got, ref));
                                    Assertions.assertTrue(Parity.relErr(got, ref) <= GRAD_TOL, () -> c.label("grad0/" + name) + " rel-err " + Parity.relErr(got, ref));
                                }
                            }
                            System.out.println(String.format(Locale.ROOT, "%s  worst rel-err %.1e over %d tensors  (tol %.0e)  ok",
                                    c.label("grad0/*"), worst, tuner.trainable().size(), GRAD_TOL));
                        }
                    }
                }
            }
            if (maxSteps < ts.length) return;
            Parity.Tally tally = Parity.Tally.params(c.label("after/*"));
            for (Map.Entry<String, Tensor> e : tuner.trainedParametersTorchLayout().entrySet()) {
                try (Tensor got = e.getValue(); Tensor ref = c.tensor("after/" + e.getKey())) {
                    tally.add(e.getKey(), got, ref);
                }
            }
            tally.check();
        }
    }

    static void scalar(String label, double got, double ref) {
        double e = Math.abs(got - ref) / Math.max(Math.abs(ref), 1e-30);
        System.out.println(String.format(Locale.ROOT, "%s  %.7g vs %.7g  rel-err %.1e  (tol %.0e)  %s", label, got, ref, e, SCALAR_TOL, e <= SCALAR_TOL ? "ok" : "FAIL"));
        Assertions.assertTrue(e <= SCALAR_TOL, label + " rel-err " + e);
    }
}
