package dev.tav4j.model.tune;

import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.Param;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.tav4j.model.tune.TapeGradientCheckTest.FRAMES;
import static dev.tav4j.model.tune.TapeGradientCheckTest.LATENT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA adapters on a tiny UNet3D (TapeGradientCheckTest's model and method): rank-2 adapters on self-attention's
 * query, every projection of temporal attention, cross-attention's key (reads the text) and the transformers'
 * proj_in (a 1×1 convolution used as a Linear: 4D PEFT shapes). With B drawn at random (PEFT starts it at zero,
 * which would leave A without a gradient), every adapter tensor's tape gradient of the tuning loss is checked against
 * central finite differences, with and without gradient checkpointing; only adapters train. Tolerances as
 * TapeGradientCheckTest's; the step is 1e-2 (not 2e-3): some adapter gradients are ~1e-5, where the F32 noise of
 * the loss over a 2e-3 step (~1e-7 / 4e-3) is of their size, and the loss is nearly quadratic in an adapter entry.
 */
class LoraGradientCheckTest {
    static final List<String> SET = List.of("attn1.to_q", "attn_temp", "attn2.to_k", "proj_in");
    private static final float H = 1e-2f;

    @Test
    void adapterGradientsMatchFiniteDifferences() {
        Ops ops = Backends.select("cpu");
        Gaussian g = new Gaussian(11);
        try (UNet3D unet = new UNet3D(ops, EmulatedCudaTuneStepTest.smallUnet(), new RandomWeights("unet", 5));
             Tensor x = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor target = g.tensor(FRAMES, LATENT, LATENT, 4);
             Tensor text = g.tensor(1, 77, 16); Tensor t = Tensor.of(new float[] {421f}, 1)) {
            List<String> modules = LoraTuning.attach(unet.params(), 2, SET, 3);
            // 4 transformers × (attn1.to_q, attn_temp q/k/v/out, attn2.to_k, proj_in)
            assertEquals(4 * 7, modules.size(), "adapted modules: " + modules);
            Map<String, Param> trainable = LoraTuning.select(unet.params().all(), SET, 2);
            assertEquals(2 * modules.size(), trainable.size());
            assertTrue(trainable.keySet().stream().allMatch(LoraTuning::isAdapter), "only adapters train: " + trainable.keySet());
            Random r = new Random(1);
            for (Param p : trainable.values()) {
                if (!p.name().endsWith(".lora_B.weight")) continue;
                Tensor b = p.value();
                for (long i = 0; i < b.size(); i++) b.set(i, (float) (0.3 * r.nextGaussian()));
            }
            Map<String, float[]> with = TapeGradientCheckTest.tapeGradients(unet, trainable, x, t, text, target, true);
            Map<String, float[]> without = TapeGradientCheckTest.tapeGradients(unet, trainable, x, t, text, target, false);
            List<String> failures = new ArrayList<>();
            int checked = 0;
            for (Param p : trainable.values()) {
                float[] a = with.get(p.name()), b = without.get(p.name());
                double gmax = 0;
                int arg = 0;
                for (int i = 0; i < a.length; i++) {
                    if (Math.abs(a[i]) > gmax) { gmax = Math.abs(a[i]); arg = i; }
                    if (Math.abs(a[i] - b[i]) > 1e-4 * Math.abs(a[i]) + 1e-6 * Math.max(gmax, 1e-9) + 1e-9)
                        failures.add(p.name() + "[" + i + "] checkpointing on " + a[i] + " vs off " + b[i]);
                }
                assertTrue(gmax > 0, p.name() + " got no gradient");
                Random pick = new Random(p.name().hashCode());
                for (int k = 0; k < 3; k++) {
                    int i = k == 0 ? arg : pick.nextInt(a.length);
                    Tensor w = p.value();
                    float v = w.get(i);
                    w.set(i, v + H);
                    double up = TapeGradientCheckTest.loss(unet, x, t, text, target);
                    w.set(i, v - H);
                    double down = TapeGradientCheckTest.loss(unet, x, t, text, target);
                    w.set(i, v);
                    double fd = (up - down) / (2 * H);
                    double tol = 0.03 * Math.max(Math.abs(fd), Math.abs(a[i])) + 0.02 * gmax;
                    if (Math.abs(fd - a[i]) > tol) failures.add(p.name() + "[" + i + "] tape " + a[i] + " vs finite difference " + fd);
                    checked++;
                }
            }
            assertTrue(failures.isEmpty(), failures.size() + " of " + checked + " gradient checks failed:\n" + String.join("\n", failures));
        }
    }

    /** B = 0: an adapted model computes what the base model does (LoRA tuning starts from the base). */
    @Test
    void freshAdaptersLeaveTheOutputUnchanged() {
        Ops ops = Backends.select("cpu");
        Gaussian g = new Gaussian(4);
        try (UNet3D base = new UNet3D(ops, EmulatedCudaTuneStepTest.smallUnet(), new RandomWeights("unet", 5));
             UNet3D adapted = new UNet3D(ops, EmulatedCudaTuneStepTest.smallUnet(), new RandomWeights("unet", 5));
             Tensor x = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor text = g.tensor(1, 77, 16)) {
            LoraTuning.attach(adapted.params(), 4, SET, 9);
            // not bit for bit: the CPU backend itself is not (two identical models' forwards may differ in the last
            // bit of a few hundred values, which ones varies from run to run); a changed output is far beyond this
            try (Tensor a = base.forward(x, FRAMES, new float[] {300f}, text); Tensor b = adapted.forward(x, FRAMES, new float[] {300f}, text)) {
                float[] p = a.toArray(), q = b.toArray();
                double max = 0, diff = 0;
                for (int i = 0; i < p.length; i++) {
                    max = Math.max(max, Math.abs(p[i]));
                    diff = Math.max(diff, Math.abs(p[i] - q[i]));
                }
                assertTrue(diff <= 1e-6 * max, "fresh adapters changed the output: max |diff| " + diff + " of max " + max);
            }
            Linear q = adapted.params().linears().get("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q");
            assertEquals(4, q.adapter().rank());
            assertNull(base.params().linears().get("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q").adapter());
            // A as PEFT draws it: uniform within ±1/√in, not all zero; B zeros
            Param pa = adapted.params().all().get(q.module() + ".lora_A.weight");
            float[] av = pa.value().toArray();
            double bound = 1 / Math.sqrt(q.in()), max = 0;
            for (float v : av) max = Math.max(max, Math.abs(v));
            assertTrue(max > 0.5 * bound && max <= bound, "A within ±1/√in: max " + max + ", bound " + bound);
            assertArrayEquals(new int[] {4, q.in()}, pa.torchShape());
            assertArrayEquals(new int[] {4, 16, 1, 1}, adapted.params().all()
                    .get("down_blocks.0.attentions.0.proj_in.lora_A.weight").torchShape(), "a 1×1 conv's adapter has PEFT's conv shape");
        }
    }

    /** Refusals in one line naming the module: a convolution or a norm selected, a rank above min(in, out). */
    @Test
    void refusesWhatLoraCannotAdapt() {
        Ops ops = Backends.select("cpu");
        try (UNet3D unet = new UNet3D(ops, EmulatedCudaTuneStepTest.smallUnet(), new RandomWeights("unet", 5))) {
            var conv = assertThrows(IllegalArgumentException.class,
                    () -> LoraTuning.attach(unet.params(), 2, List.of("attn1.to_q", "down_blocks.0.resnets.0.conv1"), 1));
            assertTrue(conv.getMessage().contains("'down_blocks.0.resnets.0.conv1' is a convolution"), conv.getMessage());
            var norm = assertThrows(IllegalArgumentException.class, () -> LoraTuning.attach(unet.params(), 2, List.of("norm_temp"), 1));
            assertTrue(norm.getMessage().contains("norm_temp' is a normalization layer"), norm.getMessage());
            var rank = assertThrows(IllegalArgumentException.class, () -> LoraTuning.attach(unet.params(), 17, List.of("attn1.to_q"), 1));
            assertTrue(rank.getMessage().contains("at most 16"), rank.getMessage());
            var zero = assertThrows(IllegalArgumentException.class, () -> LoraTuning.attach(unet.params(), 0, List.of("attn1.to_q"), 1));
            assertTrue(zero.getMessage().contains("at least 1"), zero.getMessage());
            for (var e : List.of(conv, norm, rank, zero)) assertEquals(1, e.getMessage().lines().count());
            // nothing was attached by a refused call
            assertTrue(unet.params().linears().values().stream().allMatch(l -> l.adapter() == null));
        }
    }
}
