package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.TestData.assertClose;
import static dev.tav4j.kernels.cpu.TestData.rand;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tav4j.runtime.Tensor;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class NormTest {
    private final CpuOps ops = new CpuOps();

    static double[] groupNormRef(Tensor x, int groups, int pooled, Tensor gamma, Tensor beta, double eps, boolean silu) {
        int n = x.dim(0), c = x.dim(-1), cg = c / groups;
        int pix = (int) (x.size() / n / c);
        double[] r = new double[(int) x.size()];
        for (int v = 0; v < n / pooled; v++)
            for (int g = 0; g < groups; g++) {
                double sum = 0, sq = 0;
                int cnt = 0;
                for (int f = 0; f < pooled; f++)
                    for (int p = 0; p < pix; p++)
                        for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                            double e = x.get(((long) (v * pooled + f) * pix + p) * c + ch);
                            sum += e;
                            cnt++;
                        }
                double mean = sum / cnt;
                for (int f = 0; f < pooled; f++)
                    for (int p = 0; p < pix; p++)
                        for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                            double e = x.get(((long) (v * pooled + f) * pix + p) * c + ch) - mean;
                            sq += e * e;
                        }
                double rstd = 1 / Math.sqrt(sq / cnt + eps);
                for (int f = 0; f < pooled; f++)
                    for (int p = 0; p < pix; p++)
                        for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                            int i = ((v * pooled + f) * pix + p) * c + ch;
                            double y = (x.get(i) - mean) * rstd * gamma.get(ch) + beta.get(ch);
                            r[i] = silu ? y / (1 + Math.exp(-y)) : y;
                        }
            }
        return r;
    }

    @ParameterizedTest
    @CsvSource({
            // n, h, w, c, groups, pooled, silu, inPlace
            "1, 3, 5, 6, 2, 1, false, false",
            "3, 4, 3, 13, 13, 3, true, false",
            "4, 5, 2, 32, 8, 2, true, true",
            "6, 3, 7, 40, 4, 1, false, true",
            "8, 8, 8, 64, 32, 8, true, false",
            "2, 2, 3, 10, 1, 2, false, false"})
    void groupNormMatchesDoubleReference(int n, int h, int w, int c, int groups, int pooled, boolean silu, boolean inPlace) {
        Random rnd = new Random(n * 7L + c);
        Tensor x = rand(rnd, 3f, n, h, w, c), gamma = rand(rnd, 1f, c), beta = rand(rnd, c);
        double[] ref = groupNormRef(x, groups, pooled, gamma, beta, 1e-5, silu);
        Tensor out = inPlace ? x : Tensor.host(n, h, w, c);
        ops.groupNorm(x, groups, pooled, gamma, beta, 1e-5f, silu, out);
        assertClose("groupNorm", ref, out, 2e-6);
    }

    @Test
    void pooledStatisticsDifferFromPerFrame() {
        Random rnd = new Random(11);
        Tensor x = rand(rnd, 2, 3, 3, 8), gamma = rand(rnd, 1f, 8), beta = rand(rnd, 8);
        for (long i = 0; i < 72; i++) x.set(i, x.get(i) + 2); // frame 0 shifted: pooling must see it
        Tensor pooled = Tensor.host(2, 3, 3, 8), perFrame = Tensor.host(2, 3, 3, 8);
        ops.groupNorm(x, 4, 2, gamma, beta, 1e-6f, false, pooled);
        ops.groupNorm(x, 4, 1, gamma, beta, 1e-6f, false, perFrame);
        assertClose("pooled", groupNormRef(x, 4, 2, gamma, beta, 1e-6, false), pooled, 2e-6);
        assertClose("per frame", groupNormRef(x, 4, 1, gamma, beta, 1e-6, false), perFrame, 2e-6);
        double diff = 0;
        for (long i = 0; i < pooled.size(); i++) diff = Math.max(diff, Math.abs(pooled.get(i) - perFrame.get(i)));
        org.junit.jupiter.api.Assertions.assertTrue(diff > 0.1, "pooling over frames changed nothing: " + diff);
    }

    @Test
    void groupNormRejectsBadGroups() {
        Tensor x = Tensor.zeros(2, 2, 2, 6);
        assertThrows(IllegalArgumentException.class, () -> ops.groupNorm(x, 4, 1, Tensor.zeros(6), Tensor.zeros(6), 1e-5f, false, x));
        assertThrows(IllegalArgumentException.class, () -> ops.groupNorm(x, 3, 4, Tensor.zeros(6), Tensor.zeros(6), 1e-5f, false, x));
    }

    static double[] layerNormRef(Tensor x, Tensor gamma, Tensor beta, double eps) {
        int d = x.dim(-1), rows = (int) (x.size() / d);
        double[] r = new double[(int) x.size()];
        for (int i = 0; i < rows; i++) {
            double s = 0, q = 0;
            for (int j = 0; j < d; j++) s += x.get((long) i * d + j);
            double mean = s / d;
            for (int j = 0; j < d; j++) { double e = x.get((long) i * d + j) - mean; q += e * e; }
            double rstd = 1 / Math.sqrt(q / d + eps);
            for (int j = 0; j < d; j++) r[i * d + j] = (x.get((long) i * d + j) - mean) * rstd * gamma.get(j) + beta.get(j);
        }
        return r;
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 5, false", "3, 7, 13, true", "2, 77, 32, false", "1, 9, 320, true", "2, 3, 1, false"})
    void layerNormMatchesDoubleReference(int a, int b, int d, boolean inPlace) {
        Random rnd = new Random(a * 100L + b * 10 + d);
        Tensor x = rand(rnd, 2f, a, b, d), gamma = rand(rnd, 1f, d), beta = rand(rnd, d);
        double[] ref = layerNormRef(x, gamma, beta, 1e-5);
        Tensor out = inPlace ? x : Tensor.host(a, b, d);
        ops.layerNorm(x, gamma, beta, 1e-5f, out);
        assertClose("layerNorm", ref, out, 2e-6);
    }
}
