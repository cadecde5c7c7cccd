package dev.tav4j.model.pipeline;

import dev.tav4j.model.Emulation;
import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.emulation.EmulatedDeviceApi;
import dev.tav4j.model.clip.ClipTextEncoder;
import dev.tav4j.model.config.ClipTextConfig;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.model.text.ClipTokenizer;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CancellationException;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A long run interrupted and resumed on the CUDA backend (host emulation): TuneJob stopped after step 2 (a
 * cancellation at the step boundary, as Ctrl-C and the CLI's resume test do), resumed from checkpoint-2, ends with
 * the parameters of an uninterrupted run. Tolerance as the cpu resume test (TuneCommandsTest.assertSameWeights):
 * untuned weights bit for bit; tuned ones within 1e-6 of the largest weight on all but 0.1 % of elements and none
 * further than 4 learning rates. (The emulated kernels are deterministic, so the runs in fact agree bit for bit.)
 */
class CudaEmuTuneResumeTest {
    private static final int FRAMES = 2, PIXELS = 16, STEPS = 3;

    /** Tokenizer, text encoder and VAE of the smoke-test model, the small UNet3D; all random, all on cuda-emu. */
    private static TuneAVideoPipeline pipeline(CudaOps ops, Path dir) {
        ClipTokenizer tok = ClipTokenizer.load(SmokeTestModel.writeByteTokenizer(dir.resolve("tok")));
        ClipTextConfig text = new ClipTextConfig(32, 128, 4, 2, 77, 256 * 2 + 2, "quick_gelu", 1e-5f);
        ClipTextEncoder enc = new ClipTextEncoder(ops, text, new RandomWeights("text_encoder", 1));
        Vae vae = new Vae(ops, SmokeTestModel.vaeConfig(), new RandomWeights("vae", 2));
        UNet3D unet = UNetLoader.build(ops, EmuModels.smallUnet(32), new RandomWeights("unet", 3), null, 4);
        return new TuneAVideoPipeline(ops, tok, enc, vae, unet, SchedulerConfig.defaults());
    }

    private static void tune(Path out, boolean resume, int cancelAfter, Path work) {
        try (EmulatedDeviceApi api = Emulation.device(); CudaOps ops = new CudaOps(api, "cuda-emu");
             TuneAVideoPipeline p = pipeline(ops, work); Tensor pixels = new Gaussian(9).tensor(FRAMES, PIXELS, PIXELS, 3)) {
            int[] done = {0};
            Progress progress = new Progress() {
                @Override public void step(String stage, int step, int total) { if (stage.equals("tune")) done[0]++; }

                @Override public boolean cancelled() { return cancelAfter > 0 && done[0] >= cancelAfter; }
            };
            TuneJob.run(p, pixels, new TuneJob.Spec(out, "a man is skiing", STEPS, TuneSettings.defaults(), 7, 1, null, resume, 8), progress);
        }
    }

    @Test
    void interruptedThenResumedEqualsUninterrupted(@TempDir Path dir) throws Exception {
        EmuModels.requireEmulation();
        long t0 = System.nanoTime();
        Path full = dir.resolve("full"), cut = dir.resolve("cut");
        tune(full, false, -1, dir);
        CancellationException c = assertThrows(CancellationException.class, () -> tune(cut, false, 2, dir));
        assertTrue(c.getMessage().contains("after step 2"), c.getMessage());
        try (Stream<Path> s = Files.list(cut)) {
            assertEquals(List.of("checkpoint-1", "checkpoint-2"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "only complete checkpoints, no unet/, nothing half-written");
        }
        tune(cut, true, -1, dir);
        System.out.printf(Locale.ROOT, "cuda-emu tune %d + 2 + 1 steps: %.1f s%n", STEPS, (System.nanoTime() - t0) / 1e9);
        assertSameWeights(full.resolve("unet/diffusion_pytorch_model.safetensors"), cut.resolve("unet/diffusion_pytorch_model.safetensors"), 3e-5);
    }

    /** TuneCommandsTest.assertSameWeights's rule (see the class comment), over the whole saved UNet. */
    static void assertSameWeights(Path a, Path b, double lr) {
        try (SafeTensors x = SafeTensors.open(a); SafeTensors y = SafeTensors.open(b)) {
            assertEquals(x.names(), y.names());
            double max = 0;
            for (String n : x.names()) {
                try (Tensor u = x.loadF32(n)) {
                    for (float f : u.toArray()) max = Math.max(max, Math.abs(f));
                }
            }
            long tunedElements = 0, off = 0, identical = 0, total = 0;
            double worst = 0;
            for (String n : x.names()) {
                boolean tuned = n.contains("attn1.to_q.") || n.contains("attn2.to_q.") || n.contains(".attn_temp.");
                try (Tensor u = x.loadF32(n); Tensor v = y.loadF32(n)) {
                    float[] p = u.toArray(), q = v.toArray();
                    for (int i = 0; i < p.length; i++) {
                        double d = Math.abs(p[i] - q[i]);
                        if (!tuned) assertEquals(p[i], q[i], n + "[" + i + "] is not tuned and must be identical");
                        if (d > 1e-6 * max) off++;
                        if (d == 0) identical++;
                        worst = Math.max(worst, d);
                    }
                    total += p.length;
                    if (tuned) tunedElements += p.length;
                }
            }
            System.out.printf(Locale.ROOT, "resumed vs uninterrupted: %d of %d weights identical, worst |diff| %.1e%n", identical, total, worst);
            assertTrue(tunedElements > 0, "tuned weights were compared");
            assertTrue(off <= tunedElements / 1000, off + " of " + tunedElements + " tuned elements differ by more than 1e-6 × " + max);
            assertTrue(worst <= 4 * lr, "largest difference " + worst + " > 4 lr");
        }
    }
}
