package dev.tav4j.model.golden;

import dev.tav4j.model.clip.ClipTextEncoder;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.pipeline.Ddim;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.VideoLayout;
import dev.tav4j.model.sched.DdimScheduler;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.text.ClipTokenizer;
import dev.tav4j.model.tune.Tuner;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.model.vae.PosteriorSampler;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.util.Map;

/**
 * The golden "pipeline" case: real man-skiing frames → VAE posterior samples → tuning steps → DDIM inversion of
 * the last step's latents (empty prompt) → guided editing → decoded video.
 */
final class PipelineParity {
    static final double FORWARD_TOL = 1e-4, EDITED_TOL = 1e-3;

    private PipelineParity() {}

    static void run(Ops ops, GoldenCase c) {
        CheckpointDir ckpt = GoldenParityTest.checkpoint(c);
        var j = c.json();
        ClipTokenizer tok = ckpt.tokenizer();
        try (var tw = ckpt.weights("text_encoder"); ClipTextEncoder text = new ClipTextEncoder(ops, ckpt.textConfig(), tw);
             var vw = ckpt.weights("vae"); Vae vae = new Vae(ops, ckpt.vaeConfig(), vw);
             UNet3D unet = UNetLoader.load(ops, ckpt, null, c.path("unet_temporal_init"), 0);
             Tuner tuner = new Tuner(unet, new NoiseSchedule(ckpt.schedulerConfig()), c.json().has("hyper") ? TrainParity.settings(c) : dev.tav4j.model.tune.TuneSettings.defaults());
             Tensor frames = c.tensor("frames"); Tensor vaeEps = c.tensor("vae_eps"); Tensor noise = c.tensor("noise");
             Tensor loss = c.tensor("loss")) {
            int f = frames.dim(0);
            try (Tensor pixels = Tensor.host(frames.shape())) {
                for (long i = 0; i < pixels.size(); i++) pixels.set(i, frames.get(i) / 127.5f - 1f);
                try (Tensor px = ops.upload(pixels); Vae.Posterior post = vae.encode(px);
                     PosteriorSampler sampler = new PosteriorSampler(ops, post, vae.config().scalingFactor());
                     Tensor src = text.encode(new int[][]{tok.encode(j.path("source_prompt").asText())});
                     Tensor empty = text.encode(new int[][]{tok.encode("")});
                     Tensor edit = text.encode(new int[][]{tok.encode(j.path("edit_prompt").asText())})) {
                    long[] ts = c.longs("timesteps");
                    Tensor latents = null;
                    try {
                        for (int k = 0; k < ts.length; k++) {
                            if (latents != null) latents.close();
                            try (Tensor eps = fchwToNhwc(ops, vaeEps.slice(k, 1), f);
                                 Tensor hostEps = ops.download(eps)) {
                                latents = sampler.sample(hostEps);
                            }
                            try (Tensor nk = noise.slice(k, 1).reshapeOwned(noise.dim(1), noise.dim(2), noise.dim(3), noise.dim(4), noise.dim(5));
                                 Tensor e = VideoLayout.toFrames(ops, nk)) {
                                Tuner.StepResult r = tuner.step(latents, e, f, new int[]{(int) ts[k]}, src);
                                TrainParity.scalar(c.label("loss[" + k + "]"), r.loss(), loss.get(k));
                            }
                        }
                        Parity.Tally tally = Parity.Tally.params(c.label("after/*"));
                        for (Map.Entry<String, Tensor> e : tuner.trainedParametersTorchLayout().entrySet()) {
                            try (Tensor got = e.getValue(); Tensor ref = c.tensor("after/" + e.getKey())) {
                                tally.add(e.getKey(), got, ref);
                            }
                        }
                        tally.check();
                        int inv = j.path("inversion_steps").asInt(), samp = j.path("sampling_steps").asInt();
                        float g = (float) j.path("guidance_scale").asDouble();
                        try (Tensor inverted = Ddim.invert(unet, new DdimScheduler(ckpt.schedulerConfig(), inv), latents, f, empty, inv, Progress.NONE)) {
                            checkVideo(ops, c, "inverted", inverted, f, FORWARD_TOL);
                            try (Tensor edited = Ddim.sample(unet, new DdimScheduler(ckpt.schedulerConfig(), samp), inverted, f, empty, edit, g, Progress.NONE)) {
                                checkVideo(ops, c, "edited", edited, f, EDITED_TOL);
                                try (Tensor video = decode(ops, vae, edited); Tensor ref = c.tensor("video")) {
                                    Parity.check(c.label("video"), video, ref, EDITED_TOL);
                                }
                            }
                        }
                    } finally {
                        if (latents != null) latents.close();
                    }
                }
            }
        }
    }

    /** (f, c, h, w) → [f, h, w, c] on the backend. */
    private static Tensor fchwToNhwc(Ops ops, Tensor fchw, int f) {
        Tensor src = fchw.reshape(f, fchw.dim(1) == f ? fchw.dim(2) : fchw.dim(1), fchw.dim(-2), fchw.dim(-1));
        Tensor out = ops.allocate(f, src.dim(2), src.dim(3), src.dim(1));
        try (Tensor dev = ops.upload(src)) {
            ops.permute(dev, new int[]{0, 2, 3, 1}, out);
        }
        return out;
    }

    /** decode(edited / 0.18215) / 2 + 0.5 clamped, as (1, 3, f, H, W) on the host. */
    private static Tensor decode(Ops ops, Vae vae, Tensor edited) {
        int f = edited.dim(0);
        try (Tensor z = ops.allocate(edited.shape())) {
            float inv = 1f / vae.config().scalingFactor();
            ops.axpby(inv, edited, 0f, edited, z);
            try (Tensor img = vae.decode(z); Tensor bcfhw = VideoLayout.toBcfhw(ops, img, f); Tensor host = ops.download(bcfhw)) {
                Tensor out = Tensor.host(host.shape());
                for (long i = 0; i < out.size(); i++) out.set(i, Math.max(0f, Math.min(1f, host.get(i) / 2f + 0.5f)));
                return out;
            }
        }
    }

    private static void checkVideo(Ops ops, GoldenCase c, String name, Tensor frames, int f, double tol) {
        try (Tensor back = VideoLayout.toBcfhw(ops, frames, f); Tensor host = ops.download(back); Tensor ref = c.tensor(name)) {
            Parity.check(c.label(name), host, ref, tol);
        }
    }
}
