package dev.tav4j.model.tune;

import dev.tav4j.model.nn.Param;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;
import dev.tav4j.runtime.autograd.Grads;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tape differentiates whatever is selected, not a hand-written path: a tiny UNet3D tuned on trainable sets no
 * code names (every attn1 projection — to_q, to_k, to_v, to_out.0 — in every transformer plus both convolutions
 * of the first down resnet; the time embedding MLP plus a whole resnet with its norms and time projection), with
 * and without gradient checkpointing, every trainable tensor's gradient of the tuning loss checked against central
 * finite differences. The loss and the differences are formed in float64
 * from the CPU backend's F32 forward (there is no F64 backend), so the step is large enough (h = 2e-3) that F32
 * rounding of the loss (about 1e-7 relative) stays well below the differences; the tolerance, 3 % of the larger
 * magnitude plus 2 % of the tensor's largest gradient, is far below what a missing path gives (100 %).
 */
class TapeGradientCheckTest {
    static final List<String> SET = List.of("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
            "down_blocks.0.resnets.0.conv1", "down_blocks.0.resnets.0.conv2");
    static final int FRAMES = 3, LATENT = 8;
    private static final float H = 2e-3f;

    @Test
    void attn1AndOneResnetsConvolutions() {
        check(SET, 4 * 4 + 4 + 4);  // 4 transformers × (q, k, v, out weight) + out biases + 2 convs × (weight, bias)
    }

    /** The time embedding's MLP and every parameter of the mid block's first resnet: its norms, convolutions and time projection. */
    @Test
    void timeEmbeddingNormsAndAWholeResnet() {
        check(List.of("time_embedding", "mid_block.resnets.0"), 4 + 10);
    }

    private static void check(List<String> set, int tensors) {
        Ops ops = Backends.select("cpu");
        Gaussian g = new Gaussian(11);
        try (UNet3D unet = new UNet3D(ops, EmulatedCudaTuneStepTest.smallUnet(), new RandomWeights("unet", 5), TrainableModules.matcher(set));
             Tensor x = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor target = g.tensor(FRAMES, LATENT, LATENT, 4);
             Tensor text = g.tensor(1, 77, 16); Tensor t = Tensor.of(new float[] {421f}, 1)) {
            Map<String, Param> trainable = TrainableModules.select(unet.params().all(), set);
            assertEquals(tensors, trainable.size(), "trainable tensors: " + trainable.keySet());
            for (Param p : trainable.values()) p.value().makeWritable();
            Map<String, float[]> with = tapeGradients(unet, trainable, x, t, text, target, true);
            Map<String, float[]> without = tapeGradients(unet, trainable, x, t, text, target, false);
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
                Random r = new Random(p.name().hashCode());
                for (int k = 0; k < 3; k++) {
                    int i = k == 0 ? arg : r.nextInt(a.length);
                    Tensor w = p.value();
                    float v = w.get(i);
                    w.set(i, v + H);
                    double up = loss(unet, x, t, text, target);
                    w.set(i, v - H);
                    double down = loss(unet, x, t, text, target);
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

    /** The tuning loss's gradients (MSE against target, as the tuner forms it) on a tape. */
    static Map<String, float[]> tapeGradients(UNet3D unet, Map<String, Param> trainable, Tensor x, Tensor t, Tensor text,
                                                      Tensor target, boolean checkpointing) {
        Ops ops = unet.ops();
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        try (Grads grads = new Grads(ops, trainable.values().stream().map(Param::value).toList());
             Fn f = Fn.training(ops, grads, checkpointing); Tensor d = ops.allocate(x.shape())) {
            Tensor pred = unet.forward(f, x, FRAMES, t, text);
            float c = 2f / pred.size();
            ops.axpby(c, pred, -c, target, d);
            f.backward(pred, d);
            for (Param p : trainable.values()) out.put(p.name(), grads.of(p.value()).toArray());
        }
        return out;
    }

    static double loss(UNet3D unet, Tensor x, Tensor t, Tensor text, Tensor target) {
        try (Tensor pred = unet.forward(x, FRAMES, t, text)) {
            double s = 0;
            for (long i = 0; i < pred.size(); i++) {
                double e = (double) pred.get(i) - target.get(i);
                s += e * e;
            }
            return s / pred.size();
        }
    }
}
