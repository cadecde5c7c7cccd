package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.TestData.assertClose;
import static dev.tav4j.kernels.cpu.TestData.rand;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AttentionTest {
    private final CpuOps ops = new CpuOps();

    /** Softmax attention in double with the key rows listed explicitly per query: {image, token} pairs. */
    interface Keys {
        List<int[]> of(int image, int token);
    }

    static double[] ref(Tensor q, Tensor k, Tensor v, int heads, double scale, Keys keys) {
        int n = q.dim(0), l = q.dim(1), c = q.dim(2), hs = c / heads, lk = k.dim(1);
        double[] r = new double[(int) q.size()];
        for (int img = 0; img < n; img++)
            for (int t = 0; t < l; t++) {
                List<int[]> ks = keys.of(img, t);
                for (int h = 0; h < heads; h++) {
                    double[] s = new double[ks.size()];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < s.length; j++) {
                        long kr = ((long) ks.get(j)[0] * lk + ks.get(j)[1]) * c + h * hs;
                        long qr = ((long) img * l + t) * c + h * hs;
                        double d = 0;
                        for (int i = 0; i < hs; i++) d += (double) q.get(qr + i) * k.get(kr + i);
                        s[j] = d * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < s.length; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
                    for (int i = 0; i < hs; i++) {
                        double o = 0;
                        for (int j = 0; j < s.length; j++)
                            o += s[j] * v.get(((long) ks.get(j)[0] * lk + ks.get(j)[1]) * c + h * hs + i);
                        r[((img * l + t) * c) + h * hs + i] = o / sum;
                    }
                }
            }
        return r;
    }

    static List<int[]> tokens(int image, int from, int to) {
        List<int[]> r = new ArrayList<>();
        for (int j = from; j < to; j++) r.add(new int[] {image, j});
        return r;
    }

    private Tensor run(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k, Tensor v) {
        Tensor out = Tensor.host(q.shape());
        ops.attention(kind, frames, heads, scale, q, k, v, out);
        return out;
    }

    @ParameterizedTest
    @CsvSource({"1, 5, 3, 8, 1", "2, 33, 17, 16, 2", "3, 20, 20, 80, 2", "1, 70, 41, 40, 1", "2, 9, 77, 320, 8",
            // hundreds of keys, a count that fills no whole vector pair
            "1, 5, 700, 8, 1", "1, 40, 333, 64, 2",
            // head sizes that are no multiple of 8, at key counts that go through QueryLaneAttention
            "1, 21, 30, 20, 4", "2, 17, 256, 26, 2"})
    void self(int n, int lq, int lk, int c, int heads) {
        Random rnd = new Random(lq * 7L + lk);
        Tensor q = rand(rnd, n, lq, c), k = rand(rnd, n, lk, c), v = rand(rnd, n, lk, c);
        float scale = (float) (1 / Math.sqrt(c / heads));
        Tensor out = run(AttentionKind.SELF, 1, heads, scale, q, k, v);
        assertClose("self", ref(q, k, v, heads, scale, (img, t) -> tokens(img, 0, lk)), out, 1e-5);
    }

    @ParameterizedTest
    @CsvSource({"1, 7, 24, 3", "2, 77, 64, 4", "1, 18, 40, 1", "1, 400, 16, 2"})
    void causal(int n, int l, int c, int heads) {
        Random rnd = new Random(l);
        Tensor q = rand(rnd, n, l, c), k = rand(rnd, n, l, c), v = rand(rnd, n, l, c);
        Tensor out = run(AttentionKind.CAUSAL, 1, heads, 0.3f, q, k, v);
        assertClose("causal", ref(q, k, v, heads, 0.3f, (img, t) -> tokens(img, 0, t + 1)), out, 1e-5);
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 13, 16, 2", "1, 3, 20, 64, 8", "2, 3, 17, 40, 1", "2, 4, 6, 24, 3", "1, 2, 300, 16, 2"})
    void sparseCausal(int batch, int frames, int l, int c, int heads) {
        Random rnd = new Random(frames * 10L + l);
        int n = batch * frames;
        Tensor q = rand(rnd, n, l, c), k = rand(rnd, n, l, c), v = rand(rnd, n, l, c);
        float scale = (float) (1 / Math.sqrt(c / heads));
        Tensor out = run(AttentionKind.SPARSE_CAUSAL, frames, heads, scale, q, k, v);
        Keys keys = (img, t) -> {
            int f = img % frames, first = img - f;
            List<int[]> r = tokens(first, 0, l);
            r.addAll(tokens(first + Math.max(f - 1, 0), 0, l));
            return r;
        };
        assertClose("sparse-causal F=" + frames, ref(q, k, v, heads, scale, keys), out, 1e-5);
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 10, 77, 16, 2", "2, 3, 12, 77, 40, 5", "2, 2, 5, 7, 64, 8", "1, 2, 19, 77, 12, 4", "1, 1, 40, 77, 320, 2"})
    void crossRepeatsTextOverFrames(int batch, int frames, int lq, int lk, int c, int heads) {
        Random rnd = new Random(lq * 3L + frames);
        int n = batch * frames;
        Tensor q = rand(rnd, n, lq, c), k = rand(rnd, batch, lk, c), v = rand(rnd, batch, lk, c);
        float scale = (float) (1 / Math.sqrt(c / heads));
        Tensor out = run(AttentionKind.CROSS, frames, heads, scale, q, k, v);
        assertClose("cross", ref(q, k, v, heads, scale, (img, t) -> tokens(img / frames, 0, lk)), out, 1e-5);
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 5, 8, 1", "2, 3, 7, 16, 2", "1, 8, 9, 40, 5", "2, 4, 3, 64, 8",
            // more tokens than one vector of TemporalLaneAttention, head sizes that are no multiple of 4, 24 frames
            "1, 5, 37, 21, 3", "1, 24, 20, 16, 2", "2, 7, 33, 64, 8"})
    void temporal(int batch, int frames, int l, int c, int heads) {
        Random rnd = new Random(batch * 5L + frames + l);
        int n = batch * frames;
        Tensor q = rand(rnd, n, l, c), k = rand(rnd, n, l, c), v = rand(rnd, n, l, c);
        float scale = (float) (1 / Math.sqrt(c / heads));
        Tensor out = run(AttentionKind.TEMPORAL, frames, heads, scale, q, k, v);
        Keys keys = (img, t) -> {
            List<int[]> r = new ArrayList<>();
            int first = img / frames * frames;
            for (int g = 0; g < frames; g++) r.add(new int[] {first + g, t});
            return r;
        };
        assertClose("temporal", ref(q, k, v, heads, scale, keys), out, 1e-5);
    }

    /** Scores that grow along a thousand keys, so the row's max is at its end and most weights are tiny. */
    @Test
    void scoresGrowingAlongTheKeys() {
        Random rnd = new Random(11);
        int lk = 1000, c = 8;
        Tensor q = Tensor.host(1, 3, c), k = rand(rnd, 1, lk, c), v = rand(rnd, 1, lk, c);
        for (int i = 0; i < 3 * c; i++) q.set(i, 1f);
        for (int j = 0; j < lk; j++) for (int i = 0; i < c; i++) k.set((long) j * c + i, (j + rnd.nextFloat()) / lk);
        Tensor out = run(AttentionKind.SELF, 1, 1, 4f, q, k, v);
        assertClose("growing scores", ref(q, k, v, 1, 4, (img, t) -> tokens(img, 0, lk)), out, 1e-5);
    }

    @Test
    void largeScoresStayFinite() {
        Random rnd = new Random(5);
        Tensor q = rand(rnd, 1, 6, 8), k = rand(rnd, 1, 9, 8), v = rand(rnd, 1, 9, 8);
        Tensor out = run(AttentionKind.SELF, 1, 1, 40f, q, k, v);
        assertClose("large scale", ref(q, k, v, 1, 40, (img, t) -> tokens(img, 0, 9)), out, 1e-5);
    }

    @Test
    void rejectsBadShapes() {
        Tensor q = Tensor.zeros(4, 5, 16);
        assertThrows(IllegalArgumentException.class, () -> run(AttentionKind.SELF, 1, 3, 1f, q, q, q));
        assertThrows(IllegalArgumentException.class, () -> run(AttentionKind.SPARSE_CAUSAL, 3, 2, 1f, q, q, q));
        Tensor text = Tensor.zeros(3, 7, 16);
        assertThrows(IllegalArgumentException.class, () -> run(AttentionKind.CROSS, 2, 2, 1f, q, text, text));
    }
}
