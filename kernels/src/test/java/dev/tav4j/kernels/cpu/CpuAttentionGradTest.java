package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.CpuGradCheck.d;
import static dev.tav4j.kernels.cpu.CpuGradCheck.grad;
import static dev.tav4j.kernels.cpu.TestData.assertClose;
import static dev.tav4j.kernels.cpu.TestData.rand;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CpuAttentionGradTest {
    private static final double TOL = 5e-5;
    private final CpuGradOps grads = new CpuGradOps();

    /** The key rows {image, token} query token t of image img sees, listed explicitly (duplicates allowed). */
    interface Keys {
        List<int[]> of(int image, int token);
    }

    /** Softmax attention in double; q [n, lq, c], k and v [nk, lk, c]. */
    static double[] attention(double[] q, double[] k, double[] v, int n, int lq, int lk, int c, int heads, double scale,
                              Keys keys) {
        int hs = c / heads;
        double[] out = new double[n * lq * c];
        for (int img = 0; img < n; img++)
            for (int t = 0; t < lq; t++) {
                List<int[]> ks = keys.of(img, t);
                for (int h = 0; h < heads; h++) {
                    double[] s = new double[ks.size()];
                    double max = Double.NEGATIVE_INFINITY;
                    int qr = (img * lq + t) * c + h * hs;
                    for (int j = 0; j < s.length; j++) {
                        int kr = (ks.get(j)[0] * lk + ks.get(j)[1]) * c + h * hs;
                        double dot = 0;
                        for (int i = 0; i < hs; i++) dot += q[qr + i] * k[kr + i];
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < s.length; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
                    for (int i = 0; i < hs; i++) {
                        double o = 0;
                        for (int j = 0; j < s.length; j++) o += s[j] * v[(ks.get(j)[0] * lk + ks.get(j)[1]) * c + h * hs + i];
                        out[qr + i] = o / sum;
                    }
                }
            }
        return out;
    }

    static List<int[]> tokens(int image, int from, int to) {
        List<int[]> r = new ArrayList<>();
        for (int j = from; j < to; j++) r.add(new int[] {image, j});
        return r;
    }

    /** Runs the backward and holds dQ (and dK, dV when asked) to finite differences of the double forward. */
    private void check(String what, AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k, Tensor v,
                       Keys keys, boolean keyGrads) {
        int n = q.dim(0), lq = q.dim(1), c = q.dim(2), lk = k.dim(1);
        Random rnd = new Random(n * 101L + lq);
        Tensor dO = rand(rnd, q.shape());
        Tensor dQ = Tensor.host(q.shape());
        Tensor dK = keyGrads ? rand(rnd, k.shape()) : null, dV = keyGrads ? rand(rnd, v.shape()) : null; // overwritten
        grads.attentionBackward(kind, frames, heads, scale, q, k, v, dO, dQ, dK, dV);
        double[] qd = d(q), kd = d(k), vd = d(v), r = d(dO);
        closeOrZero(what + " dQ", grad(x -> attention(x, kd, vd, n, lq, lk, c, heads, scale, keys), qd, r), dQ);
        if (!keyGrads) return;
        closeOrZero(what + " dK", grad(x -> attention(qd, x, vd, n, lq, lk, c, heads, scale, keys), kd, r), dK);
        assertClose(what + " dV", grad(x -> attention(qd, kd, x, n, lq, lk, c, heads, scale, keys), vd, r), dV, TOL);
    }

    /** One key per query (a single frame) makes the output independent of q and k: then both gradients are zero. */
    private static void closeOrZero(String what, double[] ref, Tensor got) {
        double maxRef = 0, maxGot = 0;
        for (int i = 0; i < ref.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
            maxGot = Math.max(maxGot, Math.abs(got.get(i)));
        }
        if (maxRef < 1e-9) assertTrue(maxGot < 1e-6, what + ": expected zero, got up to " + maxGot);
        else assertClose(what, ref, got, TOL);
    }

    @ParameterizedTest
    @CsvSource({"1, 5, 3, 8, 1", "2, 7, 19, 12, 3", "1, 33, 70, 8, 2"})
    void self(int n, int lq, int lk, int c, int heads) {
        Random rnd = new Random(lq * 7L + lk);
        Tensor q = rand(rnd, n, lq, c), k = rand(rnd, n, lk, c), v = rand(rnd, n, lk, c);
        float scale = (float) (1 / Math.sqrt(c / heads));
        check("self", AttentionKind.SELF, 1, heads, scale, q, k, v, (img, t) -> tokens(img, 0, lk), true);
    }

    @ParameterizedTest
    @CsvSource({"1, 7, 6, 3", "1, 70, 8, 2"})
    void causal(int n, int l, int c, int heads) {
        Random rnd = new Random(l);
        Tensor q = rand(rnd, n, l, c), k = rand(rnd, n, l, c), v = rand(rnd, n, l, c);
        check("causal", AttentionKind.CAUSAL, 1, heads, 0.7f, q, k, v, (img, t) -> tokens(img, 0, t + 1), true);
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 5, 6, 2", "1, 3, 5, 8, 2", "2, 3, 7, 6, 1", "1, 4, 67, 4, 1"})
    void sparseCausal(int batch, int frames, int l, int c, int heads) {
        Random rnd = new Random(frames * 10L + l);
        int n = batch * frames;
        Tensor q = rand(rnd, n, l, c), k = rand(rnd, n, l, c), v = rand(rnd, n, l, c);
        float scale = (float) (1 / Math.sqrt(c / heads));
        Keys keys = (img, t) -> {
            int f = img % frames, first = img - f;
            List<int[]> r = tokens(first, 0, l);
            r.addAll(tokens(first + Math.max(f - 1, 0), 0, l));
            return r;
        };
        check("sparse-causal F=" + frames, AttentionKind.SPARSE_CAUSAL, frames, heads, scale, q, k, v, keys, true);
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 5, 7, 8, 2, true", "2, 3, 6, 9, 6, 3, true", "2, 3, 6, 9, 6, 3, false", "1, 2, 4, 77, 4, 1, false"})
    void cross(int batch, int frames, int lq, int lk, int c, int heads, boolean keyGrads) {
        Random rnd = new Random(lq * 3L + frames);
        int n = batch * frames;
        Tensor q = rand(rnd, n, lq, c), k = rand(rnd, batch, lk, c), v = rand(rnd, batch, lk, c);
        float scale = (float) (1 / Math.sqrt(c / heads));
        check("cross", AttentionKind.CROSS, frames, heads, scale, q, k, v, (img, t) -> tokens(img / frames, 0, lk), keyGrads);
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 3, 4, 1", "2, 3, 5, 6, 2", "1, 8, 2, 8, 2",
            // more tokens than one vector of TemporalLaneAttentionGrad, 24 frames, head sizes of 5, 4 and 8
            "1, 3, 37, 10, 2", "1, 24, 3, 4, 1", "1, 5, 18, 16, 2"})
    void temporal(int batch, int frames, int l, int c, int heads) {
        Random rnd = new Random(batch * 5L + frames + l);
        int n = batch * frames;
        Tensor q = rand(rnd, n, l, c), k = rand(rnd, n, l, c), v = rand(rnd, n, l, c);
        float scale = (float) (1 / Math.sqrt(c / heads));
        Keys keys = (img, t) -> {
            List<int[]> r = new ArrayList<>();
            int first = img / frames * frames;
            for (int g = 0; g < frames; g++) r.add(new int[] {first + g, t});
            return r;
        };
        check("temporal", AttentionKind.TEMPORAL, frames, heads, scale, q, k, v, keys, true);
    }

    @Test
    void largeScoresStayFinite() {
        Random rnd = new Random(5);
        Tensor q = rand(rnd, 1, 6, 4), k = rand(rnd, 1, 9, 4), v = rand(rnd, 1, 9, 4);
        check("large scale", AttentionKind.SELF, 1, 1, 12f, q, k, v, (img, t) -> tokens(img, 0, 9), true);
    }

    @Test
    void crossQueryGradientDoesNotDependOnKeyGradients() {
        Random rnd = new Random(9);
        Tensor q = rand(rnd, 4, 10, 16), k = rand(rnd, 2, 7, 16), v = rand(rnd, 2, 7, 16), dO = rand(rnd, 4, 10, 16);
        Tensor a = Tensor.host(4, 10, 16), b = Tensor.host(4, 10, 16);
        grads.attentionBackward(AttentionKind.CROSS, 2, 4, 0.5f, q, k, v, dO, a, null, null);
        grads.attentionBackward(AttentionKind.CROSS, 2, 4, 0.5f, q, k, v, dO, b, Tensor.host(2, 7, 16), Tensor.host(2, 7, 16));
        assertArrayEquals(a.toArray(), b.toArray());
    }

    @Test
    void rejectsBadShapes() {
        Tensor q = Tensor.zeros(4, 5, 16);
        Tensor dq = Tensor.zeros(4, 5, 16);
        assertThrows(IllegalArgumentException.class,
                () -> grads.attentionBackward(AttentionKind.SELF, 1, 3, 1f, q, q, q, q, dq, null, null));
        assertThrows(IllegalArgumentException.class,
                () -> grads.attentionBackward(AttentionKind.SELF, 1, 2, 1f, q, q, q, q, Tensor.zeros(4, 5, 8), null, null));
        assertThrows(IllegalArgumentException.class,
                () -> grads.attentionBackward(AttentionKind.SPARSE_CAUSAL, 3, 2, 1f, q, q, q, q, dq, null, null));
        assertThrows(IllegalArgumentException.class,
                () -> grads.attentionBackward(AttentionKind.SELF, 1, 2, 1f, q, q, q, q, q, null, null));
    }
}
