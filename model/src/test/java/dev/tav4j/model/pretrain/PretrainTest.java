package dev.tav4j.model.pretrain;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CancellationException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code tav pretrain} at test scale ({@link PretrainConfig#tiny()}, the full topology at 32×32): a few steps of each
 * stage lower the loss on a fixed batch (and the same steps at learning rate 0 do not, so the check can fail), an
 * interrupted and resumed run ends where an uninterrupted one does (the same losses; parameters within the CPU
 * backend's run-to-run noise, see {@link #rmsDiff}), and the folder it writes loads with
 * {@link TuneAVideoPipeline#load} and generates.
 */
class PretrainTest {
    private static final Ops CPU = new CpuOps();
    private static final PretrainConfig TINY = PretrainConfig.tiny();

    /** Loss of the first and of the last of {@code steps} steps on one fixed batch (each step reports its loss before its update). */
    private static float[] fixedBatchLosses(Trainer t, Trainer.Batch batch, int steps, float lr) {
        float first = Float.NaN, last = Float.NaN;
        for (int s = 0; s < steps; s++) {
            Trainer.StepResult r = t.step(batch, lr);
            assertTrue(Float.isFinite(r.loss()) && !r.skipped(), "step " + s + ": " + r);
            if (s == 0) first = r.loss();
            last = r.loss();
        }
        return new float[]{first, last};
    }

    private static Trainer.Batch vaeBatch(WorldData data) {
        int lat = TINY.latentSize();
        return new Trainer.Batch().data(VaeObjective.PIXELS, data.stills(0, 4))
                .data(VaeObjective.NOISE, data.random("vae", 0).tensor(4, lat, lat, 4));
    }

    @Test
    void vaeStepsLowerTheLossOnAFixedBatch() {
        WorldData data = new WorldData(TINY, 1);
        for (float lr : new float[]{3e-3f, 0f}) {
            try (Vae vae = new Vae(CPU, TINY.vae(1f), new RandomWeights("vae", 7), n -> true);
                 Trainer t = new Trainer(vae.params(), new VaeObjective(vae, 1e-4f), Trainer.Settings.defaults(lr));
                 Trainer.Batch batch = vaeBatch(data)) {
                float[] l = fixedBatchLosses(t, batch, 12, lr);
                System.out.printf("VAE fixed batch, lr %s: loss %.4f -> %.4f%n", lr, l[0], l[1]);
                if (lr > 0) assertTrue(l[1] < 0.7f * l[0], "VAE loss " + l[0] + " -> " + l[1] + " after 12 steps");
                else assertEquals(l[0], l[1], 1e-6f * l[0], "at learning rate 0 nothing changes (the check above can fail)");
            }
        }
    }

    @Test
    void unetStepsLowerTheLossOnAFixedBatch() {
        int f = TINY.frames(), lat = TINY.latentSize(), b = 1;
        NoiseSchedule schedule = new NoiseSchedule(SchedulerConfig.defaults());
        for (float lr : new float[]{3e-3f, 0f}) {
            try (UNet3D unet = UNetLoader.build(CPU, TINY.unet(), new RandomWeights("unet", 5), null, 6, n -> true);
                 Trainer t = new Trainer(unet.params(), new DiffusionObjective(unet, f), Trainer.Settings.defaults(lr));
                 Trainer.Batch batch = new Trainer.Batch()) {
                float ac = schedule.alphaCumprod(400);
                batch.data(DiffusionObjective.LATENTS, new Gaussian(11).tensor(b * f, lat, lat, 4))
                        .data(DiffusionObjective.NOISE, new Gaussian(12).tensor(b * f, lat, lat, 4))
                        .data(DiffusionObjective.TEXT, new Gaussian(13).tensor(b, 77, TINY.textHidden()))
                        .scalars(DiffusionObjective.COEFFICIENTS, (float) Math.sqrt(ac), (float) Math.sqrt(1 - ac))
                        .scalars(DiffusionObjective.TIMESTEPS, 400f);
                float[] l = fixedBatchLosses(t, batch, 12, lr);
                System.out.printf("UNet fixed batch, lr %s: loss %.4f -> %.4f%n", lr, l[0], l[1]);
                if (lr > 0) assertTrue(l[1] < 0.7f * l[0], "UNet loss " + l[0] + " -> " + l[1] + " after 12 steps");
                else assertEquals(l[0], l[1], 1e-6f * l[0], "at learning rate 0 nothing changes (the check above can fail)");
            }
        }
    }

    /** Stops a stage after {@code after} of its steps (as Ctrl-C does), once. */
    private static final class StopAfter implements Progress {
        private final String stage;
        private final int after;
        private String current;
        private int step;

        StopAfter(String stage, int after) {
            this.stage = stage;
            this.after = after;
        }

        @Override public void step(String s, int step, int total) {
            current = s;
            this.step = step;
        }

        @Override public boolean cancelled() { return stage.equals(current) && step == after; }
    }

    private static Pretrain.Options options(Path out, boolean resume) {
        return new Pretrain.Options(out, Pretrain.Stage.ALL, TINY.withSteps(6, 6).withCheckpointEvery(4), 42, resume, false, "test");
    }

    @Test
    void aResumedRunEndsWhereAnUninterruptedOneDoes(@TempDir Path tmp) throws Exception {
        Path whole = tmp.resolve("whole"), parts = tmp.resolve("parts");
        new Pretrain(CPU, options(whole, false), Progress.NONE, s -> {}).run();
        // stopped in the VAE stage after step 3 (checkpoint-3), refused without --resume, resumed, stopped in the UNet stage after
        // step 5, resumed
        assertThrows(CancellationException.class, () -> new Pretrain(CPU, options(parts, false), new StopAfter("vae", 3), s -> {}).run());
        assertTrue(Files.isDirectory(parts.resolve("checkpoints/vae/checkpoint-3")));
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> new Pretrain(CPU, options(parts, false), Progress.NONE, s -> {}).run());
        assertTrue(refused.getMessage().contains("--resume"), refused.getMessage());
        assertThrows(CancellationException.class, () -> new Pretrain(CPU, options(parts, true), new StopAfter("unet", 5), s -> {}).run());
        new Pretrain(CPU, options(parts, true), Progress.NONE, s -> {}).run();
        assertArrayEquals(Files.readAllBytes(whole.resolve("text_encoder/model.safetensors")), Files.readAllBytes(parts.resolve("text_encoder/model.safetensors")));
        for (String stage : List.of("vae", "unet")) {
            double[] a = losses(whole.resolve("logs/" + stage + ".csv")), b = losses(parts.resolve("logs/" + stage + ".csv"));
            assertEquals(6, a.length, stage + ": one log line per step, none repeated after resuming");
            assertEquals(6, b.length, stage + ": one log line per step, none repeated after resuming");
            for (int i = 0; i < 6; i++) assertEquals(a[i], b[i], 1e-4 * Math.abs(a[i]), stage + " loss of step " + (i + 1));
            // the parameters: the run-to-run noise of the CPU backend (see below) is far smaller than what two steps change
            Path file = Path.of(stage, "diffusion_pytorch_model.safetensors");
            double noise = rmsDiff(whole.resolve(file), parts.resolve(file));
            double twoSteps = rmsDiff(whole.resolve(file), whole.resolve("checkpoints/" + stage + "/checkpoint-4/params.safetensors"));
            System.out.printf("%s: rms |resumed - uninterrupted| %.2e, rms |step 6 - step 4| %.2e%n", stage, noise, twoSteps);
            assertTrue(noise < 0.02 * twoSteps, stage + ": resumed parameters differ by " + noise + ", two steps move them by " + twoSteps);
        }
        // another seed in the same folder is another run
        Pretrain.Options other = new Pretrain.Options(parts, Pretrain.Stage.ALL, TINY.withSteps(6, 6), 43, true, false, "test");
        assertThrows(IllegalStateException.class, () -> new Pretrain(CPU, other, Progress.NONE, s -> {}).run());
    }

    /** The loss column of a stage log, by step. */
    private static double[] losses(Path csv) throws Exception {
        List<String> lines = Files.readAllLines(csv);
        double[] out = new double[lines.size() - 1];
        for (int i = 1; i < lines.size(); i++) {
            String[] c = lines.get(i).split(",");
            assertEquals(i, Integer.parseInt(c[0]), csv + " line " + i);
            out[i - 1] = Double.parseDouble(c[1]);
        }
        return out;
    }

    /**
     * RMS over every parameter of the difference between two weight files. The CPU backend is not bit-reproducible
     * run to run (the Vector API's EXP differs in its last bit between the interpreter and the JIT's intrinsic, see
     * CpuDeterminismTest), and AdamW turns last-bit differences of near-zero gradients into steps of up to the learning
     * rate, so resumed and uninterrupted runs are compared by size of difference, not bit for bit.
     */
    private static double rmsDiff(Path a, Path b) throws Exception {
        double sq = 0;
        long n = 0;
        try (SafeTensors x = SafeTensors.open(a); SafeTensors y = SafeTensors.open(b)) {
            for (String name : x.names()) {
                try (Tensor u = x.loadF32(name); Tensor v = y.loadF32(name)) {
                    for (long i = 0; i < u.size(); i++) {
                        double d = u.get(i) - v.get(i);
                        sq += d * d;
                    }
                    n += u.size();
                }
            }
        }
        return Math.sqrt(sq / n);
    }

    /**
     * The frozen random text encoder of the full preset tells the world's words apart: two captions that differ in one
     * word give hidden states at that word (and at every later position, the encoder being causal) clearly apart, while
     * the positions before it are identical. (Without this the UNet would have nothing to condition on.)
     */
    @Test
    void theFrozenRandomTextEncoderSeparatesTheWorldsWords() {
        PretrainConfig full = PretrainConfig.defaults();
        dev.tav4j.model.text.ClipTokenizer tok = dev.tav4j.model.text.ClipTokenizer.builtin("<|endoftext|>");
        // ids: <start> a COLOUR SHAPE on a blue background <end> <pad>…: the colour at position 2, the shape at 3, the end at 8
        try (dev.tav4j.model.clip.ClipTextEncoder text = new dev.tav4j.model.clip.ClipTextEncoder(CPU, full.text(), new RandomWeights("text_encoder", 0));
             Tensor e = text.encode(new int[][]{tok.encode("a red circle on a blue background"), tok.encode("a green circle on a blue background"),
                     tok.encode("a red star on a blue background")})) {
            int d = full.textHidden();
            assertEquals(1.0, cosBetween(e, 0, 1, 1, d), 1e-6, "position 1 ('a') precedes the change");
            double colour = cosBetween(e, 0, 1, 2, d), shape = cosBetween(e, 0, 2, 3, d), end = cosBetween(e, 0, 1, 8, d);
            System.out.printf("cos of the hidden states: red/green %.3f, circle/star %.3f, end of caption (red/green) %.3f%n", colour, shape, end);
            // measured 0.85 and 0.86 (a shared part: position embeddings, norms); a word is half of the state's norm
            assertTrue(colour < 0.95 && shape < 0.95, "one word apart: cos " + colour + ", " + shape);
            assertTrue(end < 0.99, "the end of the caption remembers the colour: cos " + end);
        }
    }

    /** Cosine of the hidden states of captions a and b at one position of [B, 77, d]. */
    private static double cosBetween(Tensor e, int a, int b, int pos, int d) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < d; i++) {
            double x = e.get(((long) a * 77 + pos) * d + i), y = e.get(((long) b * 77 + pos) * d + i);
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }
        return ab / Math.sqrt(aa * bb);
    }

    @Test
    void theFolderLoadsAndGenerates(@TempDir Path tmp) {
        Path out = tmp.resolve("model");
        List<Pretrain.StageResult> results = new Pretrain(CPU, new Pretrain.Options(out, Pretrain.Stage.ALL, TINY.withSteps(3, 3), 0, false,
                false, "test"), Progress.NONE, s -> {}).run();
        assertEquals(2, results.size());
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(CPU, out, null)) {
            assertEquals(49408, p.tokenizer().vocabSize(), "CLIP's real BPE vocabulary");
            assertEquals(TINY.vaeScale(), p.vaeScale());
            assertTrue(p.unet().config().is3D());
            int f = TINY.frames(), lat = TINY.latentSize();
            try (Tensor init = new Gaussian(1).tensor(f, lat, lat, 4); Tensor x = CPU.upload(init);
                 Tensor z = p.edit(x, f, "a red circle is moving right on a blue background", 3, 7.5f, Progress.NONE);
                 Tensor video = p.decode(z)) {
                assertArrayEquals(new int[]{f, TINY.size(), TINY.size(), 3}, video.shape());
                for (long i = 0; i < video.size(); i++) assertTrue(Float.isFinite(video.get(i)), "non-finite pixel " + i);
            }
        }
    }

    /**
     * frames 1: the UNet is pretrained as a text-to-image model on captioned stills and written as diffusers'
     * UNet2DConditionModel without temporal layers; loading it for tuning inflates it with fresh ones (to_out zeroed,
     * as Tune-A-Video inflates Stable Diffusion), and it edits a clip of several frames.
     */
    @Test
    void aTextToImageRunWritesA2dUnetThatLoadsInflated(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("model");
        PretrainConfig cfg = TINY.withFrames(1).withSteps(3, 3);
        assertTrue(cfg.textToImage());
        new Pretrain(CPU, new Pretrain.Options(out, Pretrain.Stage.ALL, cfg, 0, false, false, "test"), Progress.NONE, s -> {}).run();
        var config = dev.tav4j.model.config.Json.read(out.resolve("unet/config.json"));
        assertEquals("UNet2DConditionModel", config.path("_class_name").asText(), config.toString());
        assertEquals("UNetMidBlock2DCrossAttn", config.path("mid_block_type").asText());
        assertEquals("CrossAttnDownBlock2D", config.path("down_block_types").get(0).asText());
        try (dev.tav4j.model.io.Weights w = dev.tav4j.model.io.CheckpointDir.open(out).weights("unet")) {
            assertTrue(w.names().stream().noneMatch(dev.tav4j.model.unet.UNetLoader::temporalKey), "no temporal layers written");
            assertTrue(w.names().stream().anyMatch(n -> n.endsWith("attn1.to_q.weight")));
        }
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(CPU, out, null)) {
            var params = p.unet().params().all();
            var temporal = params.keySet().stream().filter(dev.tav4j.model.unet.UNetLoader::temporalKey).toList();
            assertFalse(temporal.isEmpty(), "inflated with temporal layers");
            for (String k : temporal) {
                if (!k.endsWith("attn_temp.to_out.0.weight")) continue;
                try (Tensor h = CPU.download(params.get(k).value())) {
                    for (long i = 0; i < h.size(); i++) assertEquals(0f, h.get(i), k + " is zero in a fresh inflation");
                }
            }
            int f = 4, lat = cfg.latentSize();
            try (Tensor init = new Gaussian(1).tensor(f, lat, lat, 4); Tensor x = CPU.upload(init);
                 Tensor z = p.edit(x, f, "a red circle on a blue background", 3, 7.5f, Progress.NONE);
                 Tensor video = p.decode(z)) {
                assertArrayEquals(new int[]{f, cfg.size(), cfg.size(), 3}, video.shape());
                for (long i = 0; i < video.size(); i++) assertTrue(Float.isFinite(video.get(i)), "non-finite pixel " + i);
            }
        }
    }

    @Test
    void aFinishedRunResumedWithF16WritesAHalfSizeFolderThatGeneratesAlike(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("model");
        new Pretrain(CPU, new Pretrain.Options(out, Pretrain.Stage.ALL, TINY.withSteps(3, 3), 0, false, false, "test"), Progress.NONE, s -> {}).run();
        float[] f32 = sample(out);
        var trained = dev.tav4j.model.config.Json.read(out.resolve("pretrain.json")).get("stages");
        long unet32 = java.nio.file.Files.size(out.resolve("unet/diffusion_pytorch_model.safetensors"));
        List<Pretrain.StageResult> again = new Pretrain(CPU, new Pretrain.Options(out, Pretrain.Stage.ALL, TINY.withSteps(3, 3), 0, true, false,
                "test", dev.tav4j.runtime.DType.F16), Progress.NONE, s -> {}).run();
        assertEquals(List.of(3, 3), again.stream().map(Pretrain.StageResult::fromStep).toList(), "nothing trained again");
        var rewritten = dev.tav4j.model.config.Json.read(out.resolve("pretrain.json")).get("stages");
        for (String stage : List.of("vae", "unet"))
            for (String key : List.of("final_loss", "seconds_per_step"))
                assertEquals(trained.get(stage).get(key), rewritten.get(stage).get(key), stage + " " + key + " kept by the rewrite");
        long unet16 = java.nio.file.Files.size(out.resolve("unet/diffusion_pytorch_model.safetensors"));
        assertTrue(unet16 < 0.55 * unet32, "F16 weights take half the bytes (the header stays): " + unet16 + " vs " + unet32);
        assertTrue(java.nio.file.Files.readString(out.resolve("text_encoder/config.json")).contains("\"float16\""));
        float[] f16 = sample(out);
        double num = 0, den = 0;
        for (int i = 0; i < f32.length; i++) {
            num += (f16[i] - f32[i]) * (double) (f16[i] - f32[i]);
            den += f32[i] * (double) f32[i];
        }
        // F16 keeps 11 significant bits (relative rounding 2^-11 ≈ 5e-4 per weight); 3 guided steps and the decoder stay within 1e-2
        assertTrue(Math.sqrt(num / den) < 1e-2, "relative RMS difference F16 vs F32 " + Math.sqrt(num / den));
        assertTrue(num > 0, "the F16 folder was really rewritten");
    }

    private static float[] sample(Path folder) {
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(CPU, folder, null)) {
            int f = TINY.frames(), lat = TINY.latentSize();
            try (Tensor init = new Gaussian(1).tensor(f, lat, lat, 4); Tensor x = CPU.upload(init);
                 Tensor z = p.edit(x, f, "a red circle is moving right on a blue background", 3, 7.5f, Progress.NONE);
                 Tensor video = p.decode(z)) {
                return video.toArray();
            }
        }
    }
}
