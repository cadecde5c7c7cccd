package dev.tav4j.model.golden;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.pipeline.VideoLayout;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.tune.TrainableModules;
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

    /**
     * Tolerances of one run: loss and grad_norm (relative), grad0/* (max error over max value per tensor), and the
     * after/* parameters: all but {@code paramFraction} of the elements within {@code paramAbs}, and, when
     * {@code paramMaxAbs} is finite, every element within it.
     */
    record Tolerances(double scalar, double grad, double paramAbs, double paramFraction, double paramMaxAbs) {
        /** The fp32 targets of docs/semantics.md. */
        static final Tolerances FP32 = new Tolerances(SCALAR_TOL, GRAD_TOL, Parity.PARAM_ABS, Parity.PARAM_FRACTION, Double.POSITIVE_INFINITY);
    }

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

    static void run(Ops ops, GoldenCase c, int maxSteps) {
        run(ops, c, maxSteps, Tolerances.FP32);
    }

    /**
     * The first {@code maxSteps} steps only (loss, grad_norm and, after step 0, the clipped gradients); the
     * after/* parameters are checked only when every step of the case ran.
     */
    static void run(Ops ops, GoldenCase c, int maxSteps, Tolerances tol) {
        CheckpointDir ckpt = GoldenParityTest.checkpoint(c);
        TuneSettings settings = settings(c);
        // on a half-precision backend the trainable layers keep their exact fp32 values: the master weights
        try (UNet3D unet = UNetLoader.load(ops, ckpt, null, c.path("unet_temporal_init"), 0, TrainableModules.matcher(settings.trainableModules()));
             Tuner tuner = new Tuner(unet, new NoiseSchedule(ckpt.schedulerConfig()), settings);
             Tensor lat = c.tensor("latents"); Tensor noise = c.tensor("noise"); Tensor text = c.tensor("encoder_hidden_states");
             Tensor loss = c.tensor("loss"); Tensor gradNorm = c.tensor("grad_norm")) {
            Assertions.assertEquals(new TreeSet<>(c.list("trainable")), new TreeSet<>(tuner.trainable().keySet()), "trainable parameters");
            long[] ts = c.longs("timesteps");
            int frames = lat.dim(2);
            try (Tensor x = VideoLayout.toFrames(ops, lat); Tensor txt = ops.upload(text)) {
                for (int k = 0; k < Math.min(ts.length, maxSteps); k++) {
                    try (Tensor nk = noise.slice(k, 1).reshapeOwned(lat.shape()); Tensor e = VideoLayout.toFrames(ops, nk)) {
                        Tuner.StepResult r = tuner.step(x, e, frames, new int[]{(int) ts[k]}, txt);
                        Assertions.assertFalse(r.skipped(), c.label("step " + k) + " skipped: non-finite gradient");
                        scalar(c.label("loss[" + k + "]"), r.loss(), loss.get(k), tol.scalar());
                        scalar(c.label("grad_norm[" + k + "]"), r.gradNorm(), gradNorm.get(k), tol.scalar());
                        if (k == 0) {
                            double worst = 0;
                            for (String name : tuner.trainable().keySet()) {
                                try (Tensor got = tuner.clippedGradTorchLayout(name); Tensor ref = c.tensor("grad0/" + name)) {
                                    worst = Math.max(worst, Parity.relErr(got, ref));
                                    Assertions.assertTrue(Parity.relErr(got, ref) <= tol.grad(), () -> c.label("grad0/" + name) + " rel-err " + Parity.relErr(got, ref));
                                }
                            }
                            System.out.println(String.format(Locale.ROOT, "%s  worst rel-err %.1e over %d tensors  (tol %.0e)  ok",
                                    c.label("grad0/*"), worst, tuner.trainable().size(), tol.grad()));
                        }
                    }
                }
            }
            if (maxSteps < ts.length) return;
            Parity.Tally tally = new Parity.Tally(c.label("after/*"), tol.paramAbs(), tol.paramFraction());
            Parity.Tally bound = new Parity.Tally(c.label("after/* (every element)"), tol.paramMaxAbs(), 0);
            for (Map.Entry<String, Tensor> e : tuner.trainedParametersTorchLayout().entrySet()) {
                try (Tensor got = e.getValue(); Tensor ref = c.tensor("after/" + e.getKey())) {
                    tally.add(e.getKey(), got, ref);
                    bound.add(e.getKey(), got, ref);
                }
            }
            tally.check();
            if (Double.isFinite(tol.paramMaxAbs())) bound.check();
        }
    }

    static void scalar(String label, double got, double ref) {
        scalar(label, got, ref, SCALAR_TOL);
    }

    static void scalar(String label, double got, double ref, double tol) {
        double e = Math.abs(got - ref) / Math.max(Math.abs(ref), 1e-30);
        System.out.println(String.format(Locale.ROOT, "%s  %.7g vs %.7g  rel-err %.1e  (tol %.0e)  %s", label, got, ref, e, tol, e <= tol ? "ok" : "FAIL"));
        Assertions.assertTrue(e <= tol, label + " rel-err " + e);
    }
}
