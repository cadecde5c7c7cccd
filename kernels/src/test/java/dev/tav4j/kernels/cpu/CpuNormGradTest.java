package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.CpuGradCheck.d;
import static dev.tav4j.kernels.cpu.CpuGradCheck.grad;
import static dev.tav4j.kernels.cpu.TestData.assertClose;
import static dev.tav4j.kernels.cpu.TestData.rand;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tav4j.runtime.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CpuNormGradTest {
    private final CpuGradOps grads = new CpuGradOps();

    /** GroupNorm (+ SiLU) in double over x [n, pix, c], statistics pooled over `pooled` images. */
    static double[] groupNorm(double[] x, int n, int pix, int c, int groups, int pooled, double[] gamma, double[] beta,
                              double eps, boolean silu) {
        int cg = c / groups;
        double[] y = new double[x.length];
        for (int v = 0; v < n / pooled; v++)
            for (int g = 0; g < groups; g++) {
                double sum = 0, sq = 0, cnt = (double) pooled * pix * cg;
                for (int f = 0; f < pooled; f++)
                    for (int p = 0; p < pix; p++)
                        for (int ch = g * cg; ch < (g + 1) * cg; ch++) sum += x[((v * pooled + f) * pix + p) * c + ch];
                double mean = sum / cnt;
                for (int f = 0; f < pooled; f++)
                    for (int p = 0; p < pix; p++)
                        for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                            double e = x[((v * pooled + f) * pix + p) * c + ch] - mean;
                            sq += e * e;
                        }
                double rstd = 1 / Math.sqrt(sq / cnt + eps);
                for (int f = 0; f < pooled; f++)
                    for (int p = 0; p < pix; p++)
                        for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                            int i = ((v * pooled + f) * pix + p) * c + ch;
                            double a = (x[i] - mean) * rstd * gamma[ch] + beta[ch];
                            y[i] = silu ? a / (1 + Math.exp(-a)) : a;
                        }
            }
        return y;
    }

    @ParameterizedTest
    @CsvSource({
            // n, h, w, c, groups, pooled, silu, inPlace
            "4, 3, 2, 6, 3, 2, false, false",
            "4, 3, 2, 6, 3, 2, true, false",
            "3, 2, 5, 9, 3, 3, true, true",
            "2, 3, 3, 8, 2, 1, false, true",
            "2, 3, 3, 8, 2, 1, true, false",
            "6, 2, 3, 5, 1, 3, true, false",
            "2, 5, 7, 40, 8, 2, true, false"})
    void groupNormMatchesFiniteDifferences(int n, int h, int w, int c, int groups, int pooled, boolean silu, boolean inPlace) {
        Random rnd = new Random(n * 13L + c * 3 + (silu ? 1 : 0));
        Tensor x = rand(rnd, 0.3f, n, h, w, c), gamma = rand(rnd, 1f, c), beta = rand(rnd, c), dY = rand(rnd, n, h, w, c);
        double[] r = d(dY), gd = d(gamma), bd = d(beta);
        float eps = 1e-5f;
        Tensor dX = inPlace ? dY : Tensor.host(n, h, w, c);
        grads.groupNormBackward(x, groups, pooled, gamma, beta, eps, silu, dY, dX);
        double[] ref = grad(xx -> groupNorm(xx, n, h * w, c, groups, pooled, gd, bd, eps, silu), d(x), r, 1e-4);
        assertClose("groupNorm dX groups " + groups + " pooled " + pooled + " silu " + silu, ref, dX, 1e-4);
    }

    static double[] layerNorm(double[] x, int d, double[] gamma, double eps) {
        double[] y = new double[x.length];
        for (int r = 0; r < x.length / d; r++) {
            double mean = 0, sq = 0;
            for (int i = 0; i < d; i++) mean += x[r * d + i];
            mean /= d;
            for (int i = 0; i < d; i++) sq += (x[r * d + i] - mean) * (x[r * d + i] - mean);
            double rstd = 1 / Math.sqrt(sq / d + eps);
            for (int i = 0; i < d; i++) y[r * d + i] = (x[r * d + i] - mean) * rstd * gamma[i] + 0.25;
        }
        return y;
    }

    @ParameterizedTest
    @CsvSource({"3, 5, 7, false", "1, 4, 40, true", "2, 3, 33, false", "1, 2, 1, false"})
    void layerNormMatchesFiniteDifferences(int a, int b, int d, boolean inPlace) {
        Random rnd = new Random(a * 7L + d);
        Tensor x = rand(rnd, -0.2f, a, b, d), gamma = rand(rnd, 1f, d), dY = rand(rnd, a, b, d);
        double[] gd = d(gamma), r = d(dY);
        Tensor dX = inPlace ? dY : Tensor.host(a, b, d);
        grads.layerNormBackward(x, gamma, 1e-5f, dY, dX);
        double[] ref = grad(xx -> layerNorm(xx, d, gd, 1e-5), d(x), r, 1e-4);
        if (d == 1) { // a single element normalises to 0 whatever x is: the gradient is zero
            for (int i = 0; i < ref.length; i++) org.junit.jupiter.api.Assertions.assertEquals(0, dX.get(i), 1e-3);
            return;
        }
        assertClose("layerNorm dX d=" + d, ref, dX, 1e-4);
    }

    @Test
    void rejectsBadArguments() {
        Tensor x = Tensor.zeros(2, 3, 3, 8);
        assertThrows(IllegalArgumentException.class,
                () -> grads.groupNormBackward(x, 3, 1, Tensor.zeros(8), Tensor.zeros(8), 1e-5f, false, x, Tensor.zeros(2, 3, 3, 8)));
        assertThrows(IllegalArgumentException.class,
                () -> grads.groupNormBackward(x, 2, 3, Tensor.zeros(8), Tensor.zeros(8), 1e-5f, false, x, Tensor.zeros(2, 3, 3, 8)));
        assertThrows(IllegalArgumentException.class,
                () -> grads.layerNormBackward(x, Tensor.zeros(7), 1e-5f, x, Tensor.zeros(2, 3, 3, 8)));
    }
}
