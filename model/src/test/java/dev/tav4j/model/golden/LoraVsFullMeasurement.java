package dev.tav4j.model.golden;

import dev.tav4j.model.clip.ClipTextEncoder;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.tune.LoraTuning;
import dev.tav4j.model.tune.TrainableModules;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.tune.Tuner;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.model.vae.PosteriorSampler;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A measurement, not a test (its name keeps it out of the suite; run it with
 * {@code -Dtest=LoraVsFullMeasurement -Dtav.measure.steps=N}): full tuning against LoRA tuning on the golden pipeline
 * case (a-pipeline: tiny-sd-a, the man-skiing frames at 128×128 × 4, its temporal init). Steps 1–3 take the case's
 * own inputs (posterior noise, noise, timesteps: the full run reproduces the case's losses), later steps seeded
 * ones, the same for every variant. For each variant (no tuning, full, LoRA rank 4 and 8 at lr 3e-5 and 3e-4):
 * the per-step loss; an evaluation loss (the ε-MSE on the source latents at 10 fixed timesteps and noises, the
 * source prompt); the reconstruction error (the source latents, posterior mean, DDIM-inverted with the empty prompt,
 * then sampled with the source prompt, 10 + 10 steps as the case) as MSE against the source latents, at the case's
 * guidance 12.5 and at guidance 1 (no classifier-free amplification: how closely the tuned model's denoising under
 * the training prompt leads the inverted noise back to the video).
 * (An edit's distance to the full run's edit was tried too and dropped: at guidance 12.5 this random tiny model's
 * sampling amplifies any change, so every variant, untuned included, lands about equally far.)
 */
class LoraVsFullMeasurement {
    private record Variant(String name, int rank, float lr, boolean tune) {}

    private record Outcome(float[] losses, double evalLoss, double recMse, double recMse1, double z0Square) {}

    @Test
    void measure() {
        GoldenCase c = GoldenData.cases("pipeline").getFirst();
        int steps = Integer.getInteger("tav.measure.steps", 3);
        List<Variant> variants = List.of(new Variant("no tuning", 0, 0f, false), new Variant("full, lr 3e-5", 0, 3e-5f, true),
                new Variant("LoRA r4, lr 3e-5", 4, 3e-5f, true), new Variant("LoRA r8, lr 3e-5", 8, 3e-5f, true),
                new Variant("LoRA r4, lr 3e-4", 4, 3e-4f, true), new Variant("LoRA r8, lr 3e-4", 8, 3e-4f, true),
                new Variant("full, lr 3e-4", 0, 3e-4f, true));
        Map<String, Outcome> out = new LinkedHashMap<>();
        for (Variant v : variants) {
            long t0 = System.nanoTime();
            out.put(v.name(), run(c, v, steps));
            System.out.printf(Locale.ROOT, "[lora-measure] %s: %.1f s%n", v.name(), (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf(Locale.ROOT, "[lora-measure] source latents: mean square %.4f%n", out.get("no tuning").z0Square());
        System.out.println("[lora-measure] | variant | trainable | loss, steps 1-3 | mean loss, steps 1-" + steps
                + " | eval loss | reconstruction MSE, guidance 12.5 | reconstruction MSE, guidance 1 |");
        for (Variant v : variants) {
            Outcome o = out.get(v.name());
            StringBuilder first = new StringBuilder();
            for (int k = 0; k < Math.min(3, o.losses().length); k++) first.append(k > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.4f", o.losses()[k]));
            double mean = 0;
            for (float l : o.losses()) mean += l;
            mean /= Math.max(1, o.losses().length);
            System.out.printf(Locale.ROOT, "[lora-measure] | %s | %s | %s | %s | %.4f | %.3f | %.3g |%n", v.name(), trainable(c, v),
                    v.tune() ? first : "–", v.tune() ? String.format(Locale.ROOT, "%.4f", mean) : "–", o.evalLoss(), o.recMse(), o.recMse1());
            if (v.tune() && steps > 3) System.out.println("[lora-measure] curve " + v.name() + " (mean per " + Math.max(1, steps / 10) + " steps): "
                    + windows(o.losses(), Math.max(1, steps / 10)));
        }
    }

    private static String trainable(GoldenCase c, Variant v) {
        return v.tune() ? v.rank() > 0 ? "adapters" : "weights" : "–";
    }

    /** Mean loss per window of {@code w} steps. */
    private static String windows(float[] losses, int w) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < losses.length; i += w) {
            double s = 0;
            int n = Math.min(w, losses.length - i);
            for (int k = 0; k < n; k++) s += losses[i + k];
            b.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.4f", s / n));
        }
        return b.toString();
    }

    private static Outcome run(GoldenCase c, Variant v, int steps) {
        Ops ops = Backends.select("cpu");
        CheckpointDir ckpt = GoldenParityTest.checkpoint(c);
        var j = c.json();
        String src = j.path("source_prompt").asText();
        int inv = j.path("inversion_steps").asInt(), samp = j.path("sampling_steps").asInt();
        float guidance = (float) j.path("guidance_scale").asDouble();
        TuneSettings settings = TuneSettings.defaults().withLearningRate(v.lr()).withLoraRank(v.rank());
        ClipTextEncoder text;
        try (var tw = ckpt.weights("text_encoder")) {
            text = new ClipTextEncoder(ops, ckpt.textConfig(), tw);
        }
        Vae vae;
        try (var vw = ckpt.weights("vae")) {
            vae = new Vae(ops, ckpt.vaeConfig(), vw);
        }
        UNet3D unet = UNetLoader.load(ops, ckpt, null, c.path("unet_temporal_init"), 0,
                v.rank() == 0 && v.tune() ? TrainableModules.matcher(settings.trainableModules()) : n -> false);
        try (TuneAVideoPipeline p = new TuneAVideoPipeline(ops, ckpt.tokenizer(), text, vae, unet, ckpt.schedulerConfig());
             Tensor frames = c.tensor("frames"); Tensor vaeEps = c.tensor("vae_eps"); Tensor noise = c.tensor("noise");
             Tensor pixels = Tensor.host(frames.shape())) {
            int f = frames.dim(0);
            for (long i = 0; i < pixels.size(); i++) pixels.set(i, frames.get(i) / 127.5f - 1f);
            long[] ts = c.longs("timesteps");
            NoiseSchedule schedule = new NoiseSchedule(ckpt.schedulerConfig());
            float[] losses = new float[v.tune() ? steps : 0];
            try (Tensor px = ops.upload(pixels); Vae.Posterior post = vae.encode(px);
                 PosteriorSampler sampler = new PosteriorSampler(ops, post, vae.config().scalingFactor());
                 Tensor srcText = p.encodePrompt(src); Tensor z0 = sampler.mean()) {
                if (v.tune()) {
                    if (v.rank() > 0) LoraTuning.attach(unet.params(), v.rank(), settings.trainableModules(), 33);
                    try (Tuner tuner = new Tuner(unet, schedule, settings)) {
                        for (int k = 0; k < steps; k++) {
                            Tensor hostEps, e;
                            int t;
                            if (k < ts.length) {
                                hostEps = nhwc(vaeEps.slice(k, 1), f);
                                try (Tensor nk = noise.slice(k, 1).reshapeOwned(noise.dim(1), noise.dim(2), noise.dim(3), noise.dim(4), noise.dim(5))) {
                                    e = dev.tav4j.model.pipeline.VideoLayout.toFrames(ops, nk);
                                }
                                t = (int) ts[k];
                            } else {
                                hostEps = new Gaussian(1000 + k).tensor(sampler.shape());
                                try (Tensor n = new Gaussian(2000 + k).tensor(sampler.shape())) {
                                    e = ops.upload(n);
                                }
                                t = new Gaussian(3000 + k).nextInt(schedule.config().numTrainTimesteps());
                            }
                            try (hostEps; e; Tensor latents = sampler.sample(hostEps)) {
                                losses[k] = tuner.step(latents, e, f, new int[] {t}, srcText).loss();
                            }
                        }
                    }
                }
                double eval = evalLoss(p, schedule, z0, srcText, f);
                try (Tensor inverted = p.invert(z0, f, inv, Progress.NONE);
                     Tensor r = p.edit(inverted, f, src, samp, guidance, Progress.NONE); Tensor hr = ops.download(r);
                     Tensor r1 = p.edit(inverted, f, src, samp, 1f, Progress.NONE); Tensor hr1 = ops.download(r1); Tensor hz = ops.download(z0)) {
                    float[] z = hz.toArray();
                    return new Outcome(losses, eval, mse(hr.toArray(), z), mse(hr1.toArray(), z), mse(z, new float[z.length]));
                }
            }
        }
    }

    /** The ε-MSE on z0 at t = 50, 150, …, 950 with seeded noise. */
    private static double evalLoss(TuneAVideoPipeline p, NoiseSchedule schedule, Tensor z0, Tensor text, int f) {
        Ops ops = p.ops();
        double sum = 0;
        try (Tensor hz = ops.download(z0)) {
            for (int i = 0; i < 10; i++) {
                int t = 100 * i + 50;
                float ac = schedule.alphaCumprod(t), sa = (float) Math.sqrt(ac), sb = (float) Math.sqrt(1 - ac);
                try (Tensor eps = new Gaussian(5000 + i).tensor(hz.shape()); Tensor noisy = Tensor.host(hz.shape())) {
                    for (long k = 0; k < noisy.size(); k++) noisy.set(k, sa * hz.get(k) + sb * eps.get(k));
                    try (Tensor dn = ops.upload(noisy); Tensor pred = p.unet().forward(dn, f, new float[] {t}, text); Tensor hp = ops.download(pred)) {
                        sum += mse(hp.toArray(), eps.toArray());
                    }
                }
            }
        }
        return sum / 10;
    }

    /** (f, c, h, w) host → [f, h, w, c] host. */
    private static Tensor nhwc(Tensor fchw, int f) {
        int c = fchw.dim(fchw.rank() - 3), h = fchw.dim(-2), w = fchw.dim(-1);
        Tensor out = Tensor.host(f, h, w, c);
        for (int i = 0; i < f; i++)
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        out.set(((long) (i * h + y) * w + x) * c + ch, fchw.get(((long) (i * c + ch) * h + y) * w + x));
        return out;
    }

    private static double mse(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            s += d * d;
        }
        return s / a.length;
    }
}
