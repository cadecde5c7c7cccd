package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;
import dev.tav4j.runtime.autograd.Grads;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;

/**
 * Every rule of the tape ({@link Fn}) on the CPU backend against central finite differences: for a small graph
 * built from one op (or a few), the loss L = Σ r ⊙ out with fixed random r, the tape's gradients of every input
 * ({@link Fn#requireGrad}) and every parameter (a {@link Grads} buffer) are compared with (L(θ + h) − L(θ − h)) / 2h
 * at sampled elements, L summed in double. The forward is the F32 backend, so the tolerance is relative 2 % of
 * the larger magnitude plus an absolute 2e-3·‖g‖∞ (F32 rounding of L over a step of h = 1e-2), far below what a
 * wrong rule gives (a missing term, a wrong scale or layout shows as O(1) errors; {@link #aWrongGradientFails}).
 */
class FnGradientTest {
    private static final Ops CPU = new CpuOps();
    private static final float H = 1e-2f;
    private static final int SAMPLES = 12;

    /** A graph over inputs (activations, gradients asked with requireGrad) and parameters (trained). */
    private record Case(String name, int[][] inputs, int[][] params, BiFunction<Fn, Tensor[][], Tensor> graph) {}

    private static Case c(String name, int[][] inputs, int[][] params, BiFunction<Fn, Tensor[][], Tensor> graph) {
        return new Case(name, inputs, params, graph);
    }

    private static int[][] s(int[]... shapes) { return shapes; }

    private static int[] d(int... dims) { return dims; }

    @Test
    void linearWithBiasAndResidual() {
        check(c("linear", s(d(2, 3, 5), d(2, 3, 4)), s(d(5, 4), d(4)),
                (f, t) -> f.linear(t[0][0], t[1][0], t[1][1], t[0][1])));
        // the stream needs no gradient (made from a constant), so the GEMM writes into it in place
        check(c("linear in place onto a frozen stream", s(d(2, 6)), s(d(6, 6), d(6)),
                (f, t) -> f.linear(t[0][0], t[1][0], t[1][1], f.timestepEmbedding(new float[] {3f, 700f}, 6, true, 0f))));
    }

    @Test
    void conv2dWeightsBiasInputAndResidual() {
        check(c("conv 3x3", s(d(2, 5, 6, 3), d(2, 5, 6, 4)), s(d(3, 3, 3, 4), d(4)),
                (f, t) -> f.conv2d(t[0][0], t[1][0], t[1][1], 1, 1, false, t[0][1])));
        check(c("conv stride 2", s(d(1, 7, 6, 2)), s(d(3, 3, 2, 3), d(3)),
                (f, t) -> f.conv2d(t[0][0], t[1][0], t[1][1], 2, 1, false, null)));
        check(c("conv bottom-right padding", s(d(1, 6, 6, 2)), s(d(3, 3, 2, 2), d(2)),
                (f, t) -> f.conv2d(t[0][0], t[1][0], t[1][1], 2, 0, true, null)));
    }

    @Test
    void norms() {
        check(c("groupNorm pooled + silu", s(d(4, 3, 3, 8)), s(d(8), d(8)),
                (f, t) -> f.groupNorm(t[0][0], 2, 2, t[1][0], t[1][1], 1e-5f, true)));
        check(c("groupNorm per image", s(d(2, 3, 2, 6)), s(d(6), d(6)),
                (f, t) -> f.groupNorm(t[0][0], 3, 1, t[1][0], t[1][1], 1e-6f, false)));
        check(c("layerNorm", s(d(3, 4, 10)), s(d(10), d(10)),
                (f, t) -> f.layerNorm(t[0][0], t[1][0], t[1][1], 1e-5f)));
    }

    @Test
    void attentionOfEveryKind() {
        for (AttentionKind kind : AttentionKind.values()) {
            boolean cross = kind == AttentionKind.CROSS;
            int frames = kind == AttentionKind.SPARSE_CAUSAL || kind == AttentionKind.TEMPORAL ? 3 : 1;
            int n = 3, l = kind == AttentionKind.TEMPORAL ? 3 : 4, dim = 8;
            int[] kv = cross ? d(n, 5, dim) : d(n, l, dim);
            check(c("attention " + kind, s(d(n, l, dim), kv, kv), s(),
                    (f, t) -> f.attention(kind, frames, 2, 0.35f, t[0][0], t[0][1], t[0][2])));
        }
    }

    /**
     * Full spatio-temporal self-attention as the UNet's FULL variant builds it: one input x [B·F, L, C] gives the
     * queries and, viewed as [B, F·L, C], the keys and values of CROSS attention (gradients meet through the reshape).
     */
    @Test
    void fullAttentionThroughAReshapedView() {
        int b = 2, frames = 3, l = 2, dim = 8;
        check(c("full attention", s(d(b * frames, l, dim)), s(d(dim, dim)), (f, t) -> {
            Tensor h = f.linear(t[0][0], t[1][0], null, null);
            Tensor video = f.reshape(h, b, frames * l, dim);
            return f.attention(AttentionKind.CROSS, frames, 2, 0.35f, h, video, video);
        }));
    }

    /**
     * Causal attention over frames as the UNet's CAUSAL variant builds it: per video and frame f, the frame's queries
     * and frames 0..f's keys and values sliced out of one projection ({@code sliceImages}), one CROSS attention, and
     * the frames joined ({@code concatImages}); with a checkpoint and the leak check too.
     */
    @Test
    void causalAttentionThroughSlicesAndAJoin() {
        int b = 2, frames = 3, l = 2, dim = 8;
        BiFunction<Fn, Tensor[][], Tensor> causal = (f, t) -> f.checkpoint(t[0][0], x -> {
            Tensor h = f.linear(x, t[1][0], null, null);
            List<Tensor> out = new ArrayList<>();
            for (int video = 0; video < b; video++)
                for (int i = 0; i < frames; i++) {
                    Tensor keys = f.reshape(f.sliceImages(h, video * frames, i + 1), 1, (i + 1) * l, dim);
                    out.add(f.attention(AttentionKind.CROSS, 1, 2, 0.35f, f.sliceImages(h, video * frames + i, 1), keys, keys));
                }
            return f.concatImages(out);
        });
        Case c = c("causal attention", s(d(b * frames, l, dim)), s(d(dim, dim)), causal);
        check(c);
        check(c, true, 0f, true);
        check(c("slice", s(d(4, 3, 2)), s(), (f, t) -> f.sliceImages(t[0][0], 1, 2)));
        check(c("join, a part twice and a constant", s(d(2, 3), d(1, 3)), s(),
                (f, t) -> f.concatImages(List.of(t[0][1], f.full(0.5f, 2, 3), t[0][0], t[0][1]))));
    }

    @Test
    void pointwiseAndLayout() {
        check(c("geglu", s(d(3, 8)), s(), (f, t) -> f.geglu(t[0][0])));
        for (Activation a : Activation.values())
            check(c("activation " + a, s(d(2, 7)), s(), (f, t) -> f.activation(a, t[0][0])));
        check(c("upsample", s(d(2, 3, 2, 3)), s(), (f, t) -> f.upsampleNearest(t[0][0], 6, 5)));
        check(c("concat", s(d(2, 2, 2, 3), d(2, 2, 2, 2)), s(), (f, t) -> f.concatChannels(t[0][0], t[0][1])));
        check(c("axpby", s(d(3, 4), d(3, 4)), s(), (f, t) -> f.axpby(0.7f, t[0][0], -1.3f, t[0][1])));
        check(c("reshape", s(d(2, 6)), s(d(3, 5)), (f, t) -> f.linear(f.reshape(t[0][0], 4, 3), t[1][0], null, null)));
        check(c("channel bias", s(d(4, 2, 2, 3), d(2, 3)), s(), (f, t) -> f.addChannelBias(t[0][0], t[0][1], 2)));
        check(c("channel bias onto a frozen input", s(d(2, 3)), s(),
                (f, t) -> f.addChannelBias(f.reshape(f.timestepEmbedding(new float[] {3f, 9f, 70f, 700f, 1f, 2f}, 3 * 4, true, 0f), 6, 2, 2, 3), t[0][0], 3)));
    }

    /** The loss ops: products (a square too), scaling, the sum to a scalar, a channel split (one part unused too), constants. */
    @Test
    void productsSumsSplitsAndConstants() {
        check(c("mul", s(d(3, 4), d(3, 4)), s(), (f, t) -> f.mul(t[0][0], t[0][1])));
        check(c("square", s(d(2, 5)), s(), (f, t) -> f.mul(t[0][0], t[0][0])));
        check(c("mul by a constant", s(d(2, 5)), s(), (f, t) -> f.mul(f.full(-1.5f, 2, 5), t[0][0])));
        check(c("scale", s(d(3, 4)), s(), (f, t) -> f.scale(-0.6f, t[0][0])));
        check(c("sum", s(d(2, 3, 5)), s(), (f, t) -> f.sum(t[0][0])));
        check(c("split", s(d(2, 3, 5)), s(), (f, t) -> {
            Tensor[] p = f.splitChannels(t[0][0], 2);
            return f.concatChannels(p[1], f.scale(3f, p[0]));
        }));
        check(c("split, first part unused", s(d(2, 3, 5)), s(), (f, t) -> f.splitChannels(t[0][0], 3)[1]));
        check(c("split, second part unused", s(d(2, 3, 5)), s(), (f, t) -> f.splitChannels(t[0][0], 1)[0]));
    }

    /**
     * The VAE's training loss in miniature: moments split into mean and log-variance, z = mean + exp(logvar / 2)·ε, a
     * linear "decoder", then MSE + β·KL summed to one scalar; gradients of the moments, ε and the decoder.
     */
    @Test
    void reparameterisedKlLoss() {
        check(c("VAE loss", s(d(2, 3, 8), d(2, 3, 4), d(2, 3, 6)), s(d(4, 6), d(6)), (f, t) -> {
            Tensor[] ml = f.splitChannels(t[0][0], 4);
            // the fresh term first: axpby may write into its first operand in inference (the finite differences)
            Tensor z = f.add(f.mul(f.activation(Activation.EXP, f.scale(0.5f, ml[1])), t[0][1]), ml[0]);
            Tensor diff = f.axpby(1f, f.linear(z, t[1][0], t[1][1], null), -1f, t[0][2]);
            Tensor kl = f.sum(f.axpby(1f, f.add(f.mul(ml[0], ml[0]), f.activation(Activation.EXP, ml[1])), -1f, ml[1]));
            return f.axpby(1f / 36, f.sum(f.mul(diff, diff)), 0.05f, kl);
        }));
    }

    /** A small block: an input used three times (q, k, v of self-attention), a residual, norms and a checkpoint, with and without recomputation. */
    @Test
    void composedBlockWithAndWithoutCheckpointing() {
        BiFunction<Fn, Tensor[][], Tensor> block = (f, t) -> f.checkpoint(t[0][0], x -> {
            Tensor n = f.layerNorm(x, t[1][0], t[1][1], 1e-5f);
            Tensor att = f.attention(AttentionKind.SELF, 1, 2, 0.5f, f.linear(n, t[1][2], null, null),
                    f.linear(n, t[1][3], null, null), f.linear(n, t[1][4], null, null));
            Tensor y = f.linear(att, t[1][5], t[1][6], x);
            return f.linear(f.geglu(f.linear(f.layerNorm(y, t[1][0], t[1][1], 1e-5f), t[1][7], null, null)), t[1][8], null, y);
        });
        Case c = c("block", s(d(2, 3, 8)), s(d(8), d(8), d(8, 8), d(8, 8), d(8, 8), d(8, 8), d(8), d(8, 16), d(8, 8)), block);
        check(c, false, 0f, true);
        check(c, true, 0f, true);
    }

    /** The check can fail: a gradient off by 10 % in one element is caught. */
    @Test
    void aWrongGradientFails() {
        Case c = c("linear", s(d(2, 5)), s(d(5, 4), d(4)), (f, t) -> f.linear(t[0][0], t[1][0], t[1][1], null));
        check(c, false);
        AssertionError e = Assertions.assertThrows(AssertionError.class, () -> check(c, false, 0.1f, false));
        Assertions.assertTrue(e.getMessage().contains("finite difference"), e.getMessage());
    }

    /** Scopes release what they made: after a step's backward only the result and the asked-for gradients are held. */
    @Test
    void scopesReleaseIntermediates() {
        Random r = new Random(3);
        try (Tensor x = random(r, 2, 4, 8); Tensor g = random(r, 8); Tensor b = random(r, 8);
             Fn f = Fn.inference(CPU)) {
            Tensor y = f.then(f.scoped(() -> f.layerNorm(f.layerNorm(x, g, b, 1e-5f), g, b, 1e-5f)), in -> f.layerNorm(in, g, b, 1e-5f));
            Assertions.assertEquals(1, f.heldTensors(), "only the result is held");
            Assertions.assertEquals(y.dim(2), 8);
        }
    }

    private static void check(Case c) {
        check(c, false);
        check(c, true);
    }

    private static void check(Case c, boolean checkpointing) {
        check(c, checkpointing, 0f, false);
    }

    /**
     * {@code skew}·‖g‖∞ is added to the tape's first gradient element (0: none), to show the check can fail; with
     * {@code leakCheck} only the result and the input gradients may be held after the backward.
     */
    private static void check(Case c, boolean checkpointing, float skew, boolean leakCheck) {
        Random rnd = new Random(c.name().hashCode());
        List<Tensor> all = new ArrayList<>();
        try {
            Tensor[] in = new Tensor[c.inputs().length], p = new Tensor[c.params().length];
            for (int i = 0; i < in.length; i++) all.add(in[i] = random(rnd, c.inputs()[i]));
            for (int i = 0; i < p.length; i++) all.add(p[i] = random(rnd, c.params()[i]));
            Tensor[][] leaves = {in, p};
            Tensor weights;
            float[][] grads = new float[in.length + p.length][];
            try (Grads g = new Grads(CPU, List.of(p)); Fn f = Fn.training(CPU, g, checkpointing)) {
                for (Tensor t : in) f.requireGrad(t);
                Tensor out = c.graph().apply(f, leaves);
                weights = random(rnd, out.shape());
                all.add(weights);
                f.backward(out, weights);
                for (int i = 0; i < in.length; i++) {
                    Tensor gi = f.gradient(in[i]);
                    grads[i] = gi == null ? new float[(int) in[i].size()] : gi.toArray();
                }
                for (int i = 0; i < p.length; i++) grads[in.length + i] = g.of(p[i]).toArray();
                if (leakCheck) Assertions.assertEquals(0, countLeft(f, in), c.name() + ": tensors left after the backward besides the result and the input gradients");
            }
            double g0 = 0;
            for (float v : grads[0]) g0 = Math.max(g0, Math.abs(v));
            grads[0][0] += (float) (skew * g0);
            for (int i = 0; i < in.length + p.length; i++) {
                Tensor t = i < in.length ? in[i] : p[i - in.length];
                String what = c.name() + (checkpointing ? " (checkpointed)" : "") + (i < in.length ? " input " + i : " param " + (i - in.length));
                double gmax = 0;
                for (float v : grads[i]) gmax = Math.max(gmax, Math.abs(v));
                Random pick = new Random(i);
                for (int k = 0; k < Math.min(SAMPLES, t.size()); k++) {
                    int e = k == 0 ? 0 : pick.nextInt((int) t.size());
                    float v = t.get(e);
                    t.set(e, v + H);
                    double up = loss(c, leaves, weights);
                    t.set(e, v - H);
                    double down = loss(c, leaves, weights);
                    t.set(e, v);
                    double fd = (up - down) / (2 * H), tape = grads[i][e];
                    double tol = 0.02 * Math.max(Math.abs(fd), Math.abs(tape)) + 2e-3 * Math.max(gmax, 1e-3);
                    if (Math.abs(fd - tape) > tol)
                        throw new AssertionError(what + " element " + e + ": tape " + tape + " vs finite difference " + fd + " (tolerance " + tol + ")");
                }
            }
        } finally {
            all.forEach(Tensor::close);
        }
    }

    private static int countLeft(Fn f, Tensor[] inputs) {
        int asked = 0;
        for (Tensor t : inputs) if (f.gradient(t) != null) asked++;
        return f.heldTensors() - 1 - asked;  // the result and the asked-for gradients
    }

    private static double loss(Case c, Tensor[][] leaves, Tensor weights) {
        try (Fn f = Fn.inference(CPU)) {
            Tensor out = c.graph().apply(f, leaves);
            double s = 0;
            for (long i = 0; i < out.size(); i++) s += (double) out.get(i) * weights.get(i);
            return s;
        }
    }

    private static Tensor random(Random r, int... shape) {
        Tensor t = Tensor.host(shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) r.nextGaussian());
        return t;
    }
}
