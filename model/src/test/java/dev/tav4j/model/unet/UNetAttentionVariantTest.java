package dev.tav4j.model.unet;

import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.MultiHeadAttention;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.pipeline.SmokeTestModel;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ablation variants of {@link UNetVariant} change the UNet's computation as intended: full attention is
 * attention over every frame's tokens, and without temporal attention the temporal layers are not there.
 * (The gradient through full attention's reshaped view is checked in kernels' FnGradientTest.)
 */
class UNetAttentionVariantTest {
    private final Ops ops = Backends.select("cpu");
    private static final int FRAMES = 3;

    /** Every weight random, the temporal layers too (a fresh inflation zeroes attn_temp's output, hiding it). */
    private UNet3D unet(UNetVariant variant, Weights w) {
        return new UNet3D(ops, SmokeTestModel.unetConfig(), w, name -> false, variant);
    }

    private float[] run(UNet3D unet, float[] sample) {
        UNetConfig c = unet.config();
        try (Tensor x = Tensor.of(sample.clone(), FRAMES, 8, 8, 4); Tensor t = new Gaussian(5).tensor(1, 77, c.crossAttentionDim());
             Tensor dx = ops.upload(x); Tensor dt = ops.upload(t); Tensor out = unet.forward(dx, FRAMES, new float[]{401}, dt);
             Tensor host = ops.download(out)) {
            return host.toArray();
        }
    }

    private static float[] sample() {
        try (Tensor x = new Gaussian(3).tensor(FRAMES, 8, 8, 4)) {
            return x.toArray();
        }
    }

    /** Frames 0 and 2 exchanged. */
    private static float[] swap02(float[] v) {
        float[] o = v.clone();
        int n = v.length / FRAMES;
        System.arraycopy(v, 0, o, 2 * n, n);
        System.arraycopy(v, 2 * n, o, 0, n);
        return o;
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @Test
    void withoutTemporalAttentionTheUNetIsTheOneWhoseTemporalOutputIsZero() {
        Weights random = new RandomWeights("unet", 11);
        float[] x = sample();
        float[] skipped, zeroed, full;
        try (UNet3D u = unet(UNetVariant.DEFAULT.withTemporalAttention(false), random)) {
            skipped = run(u, x);
        }
        try (UNet3D u = unet(UNetVariant.DEFAULT, new ZeroTemporalOutput(random))) {
            zeroed = run(u, x);
        }
        try (UNet3D u = unet(UNetVariant.DEFAULT, random)) {
            full = run(u, x);
        }
        assertTrue(maxDiff(skipped, zeroed) < 1e-5, "skipping attn_temp = attn_temp adding zero: " + maxDiff(skipped, zeroed));
        assertTrue(maxDiff(skipped, full) > 1e-3, "the temporal layers matter with random weights: " + maxDiff(skipped, full));
    }

    /**
     * Full attention treats the frames as a set: every other layer is per frame, pooled over all frames, or temporal
     * attention without positions, so exchanging two frames of the input exchanges them in the output. Sparse-causal
     * attention (frame 0 and the previous frame) does not.
     */
    @Test
    void fullAttentionSeesEveryFrameAlikeAndSparseCausalDoesNot() {
        Weights random = new RandomWeights("unet", 12);
        float[] x = sample(), swapped = swap02(x);
        try (UNet3D u = unet(UNetVariant.DEFAULT.withFrameAttention(UNetVariant.FrameAttention.FULL), random)) {
            double d = maxDiff(swap02(run(u, x)), run(u, swapped));
            assertTrue(d < 1e-4, "full attention is equivariant to the frames' order: " + d);
        }
        try (UNet3D u = unet(UNetVariant.DEFAULT, random)) {
            double d = maxDiff(swap02(run(u, x)), run(u, swapped));
            assertTrue(d > 1e-3, "sparse-causal attention depends on the frames' order: " + d);
        }
    }

    /** The FULL block's attention, as the block calls it, against an explicit softmax over all F·L tokens of the video. */
    @Test
    void fullAttentionIsAttentionOverAllTokensOfTheVideo() {
        int b = 2, l = 4, dim = 8, heads = 2, hs = dim / heads;
        float scale = 0.5f;
        float[] xv;
        try (Tensor x = new Gaussian(9).tensor(b * FRAMES, l, dim)) {
            xv = x.toArray();
        }
        float[] got;
        try (Tensor x = Tensor.of(xv.clone(), b * FRAMES, l, dim); Tensor dx = ops.upload(x); Fn f = Fn.inference(ops)) {
            Tensor video = f.reshape(dx, b, FRAMES * l, dim);
            try (Tensor out = f.detach(f.attention(AttentionKind.CROSS, FRAMES, heads, scale, dx, video, video)); Tensor host = ops.download(out)) {
                got = host.toArray();
            }
        }
        for (int n = 0; n < b * FRAMES; n++)
            for (int i = 0; i < l; i++)
                for (int h = 0; h < heads; h++) {
                    int video = n / FRAMES, keys = FRAMES * l;
                    double[] w = new double[keys];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < keys; j++) {
                        int row = video * FRAMES * l + j;  // token j of the video: frame j / l, position j % l
                        double s = 0;
                        for (int c = 0; c < hs; c++) s += xv[(n * l + i) * dim + h * hs + c] * xv[row * dim + h * hs + c];
                        w[j] = s * scale;
                        max = Math.max(max, w[j]);
                    }
                    for (int j = 0; j < keys; j++) sum += w[j] = Math.exp(w[j] - max);
                    for (int c = 0; c < hs; c++) {
                        double o = 0;
                        for (int j = 0; j < keys; j++) o += w[j] / sum * xv[(video * FRAMES * l + j) * dim + h * hs + c];
                        assertEquals(o, got[(n * l + i) * dim + h * hs + c], 1e-5, "image " + n + " token " + i + " head " + h);
                    }
                }
    }

    /**
     * The CAUSAL block's self-attention, as the block calls it, against an explicit softmax: frame i's queries over
     * the tokens of frames 0 … i of its video (q, k, v from the layer's own projections; the output projection is the
     * identity so the attention itself is compared).
     */
    @Test
    void causalAttentionIsAttentionOverThePreviousFramesAndItself() {
        int b = 2, l = 3, dim = 8, heads = 2, hs = dim / heads;
        float[] xv;
        try (Tensor x = new Gaussian(10).tensor(b * FRAMES, l, dim)) {
            xv = x.toArray();
        }
        float[] eye = new float[dim * dim];
        for (int i = 0; i < dim; i++) eye[i * dim + i] = 1f;
        try (Tensor wq = new Gaussian(21).tensor(dim, dim); Tensor wk = new Gaussian(22).tensor(dim, dim);
             Tensor wv = new Gaussian(23).tensor(dim, dim); Tensor wo = Tensor.of(eye, dim, dim); Tensor bo = Tensor.zeros(dim);
             Tensor x = Tensor.of(xv.clone(), b * FRAMES, l, dim); Fn f = Fn.inference(ops)) {
            MultiHeadAttention attn = new MultiHeadAttention(new Linear("q", wq, null, dim, dim), new Linear("k", wk, null, dim, dim),
                    new Linear("v", wv, null, dim, dim), new Linear("o", wo, bo, dim, dim), heads, AttentionKind.SPARSE_CAUSAL);
            float[] q = read(f, attn.q().forward(f, x)), k = read(f, attn.k().forward(f, x)), v = read(f, attn.v().forward(f, x));
            float[] got = read(f, attn.forwardCausalOverFrames(f, x, FRAMES, null));
            double scale = 1 / Math.sqrt(hs), worst = 0;
            for (int n = 0; n < b * FRAMES; n++)
                for (int i = 0; i < l; i++)
                    for (int h = 0; h < heads; h++) {
                        int first = n / FRAMES * FRAMES, keys = (n - first + 1) * l;  // frames first … n
                        double[] w = new double[keys];
                        double max = Double.NEGATIVE_INFINITY, sum = 0;
                        for (int j = 0; j < keys; j++) {
                            double s = 0;
                            for (int c = 0; c < hs; c++) s += q[(n * l + i) * dim + h * hs + c] * k[(first * l + j) * dim + h * hs + c];
                            max = Math.max(max, w[j] = s * scale);
                        }
                        for (int j = 0; j < keys; j++) sum += w[j] = Math.exp(w[j] - max);
                        for (int c = 0; c < hs; c++) {
                            double o = 0;
                            for (int j = 0; j < keys; j++) o += w[j] / sum * v[(first * l + j) * dim + h * hs + c];
                            float g = got[(n * l + i) * dim + h * hs + c];
                            assertEquals(o, g, 1e-5, "image " + n + " token " + i + " head " + h);
                            worst = Math.max(worst, Math.abs(o - g));
                        }
                    }
            assertTrue(worst < 1e-5, "checked " + worst);
        }
    }

    private float[] read(Fn f, Tensor t) {
        try (Tensor d = f.detach(t); Tensor host = ops.download(d)) {
            return host.toArray();
        }
    }

    /** The weights with attn_temp's output projection zero: the temporal branch adds nothing. */
    private record ZeroTemporalOutput(Weights base) implements Weights {
        @Override public String component() { return base.component(); }
        @Override public Set<String> names() { return base.names(); }
        @Override public int[] shape(String name) { return base.shape(name); }
        @Override public Tensor load(String name, int... shape) {
            Tensor t = base.load(name, shape);
            if (name.contains("attn_temp.to_out.0.")) for (long i = 0; i < t.size(); i++) t.set(i, 0f);
            return t;
        }
        @Override public String describe() { return base.describe() + " (attn_temp output zero)"; }
        @Override public void close() { base.close(); }
    }
}
