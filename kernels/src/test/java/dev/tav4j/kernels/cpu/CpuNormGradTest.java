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

    /**
     * dGamma and dBeta of GroupNorm (accumulated onto random values) against (1) a plain double loop: statistics per
     * (video, group), x̂, z = γx̂ + β, dz = dy (· silu'(z)), Σ dz·x̂ and Σ dz per channel; (2) central differences of the
     * CPU forward {@code groupNorm} in float of L = Σ dY ⊙ groupNorm(x) w.r.t. γ and β.
     */
    @ParameterizedTest
    @CsvSource({
            // n, h, w, c, groups, pooled, silu
            "4, 3, 2, 6, 3, 2, false",
            "4, 3, 2, 6, 3, 2, true",
            "3, 2, 5, 9, 3, 3, true",
            "2, 3, 3, 8, 2, 1, false",
            "2, 3, 3, 8, 2, 1, true",
            "6, 2, 3, 5, 1, 3, true",
            "2, 5, 7, 40, 8, 2, true",
            "2, 16, 20, 8, 2, 1, true"})
    void groupNormAffineMatchesLoopAndFiniteDifferences(int n, int h, int w, int c, int groups, int pooled, boolean silu) {
        Random rnd = new Random(n * 17L + c * 5 + h + (silu ? 1 : 0));
        Tensor x = rand(rnd, 0.3f, n, h, w, c), gamma = rand(rnd, 1f, c), beta = rand(rnd, c), dY = rand(rnd, n, h, w, c);
        Tensor dGamma = rand(rnd, c), dBeta = rand(rnd, c);
        double[] g0 = d(dGamma), b0 = d(dBeta), xd = d(x), yd = d(dY), gd = d(gamma), bd = d(beta);
        float eps = 1e-5f;
        grads.groupNormBackwardAffine(x, groups, pooled, gamma, beta, eps, silu, dY, dGamma, dBeta);

        int pix = h * w, cg = c / groups;
        double[] refG = g0.clone(), refB = b0.clone();
        for (int v = 0; v < n / pooled; v++)
            for (int g = 0; g < groups; g++) {
                double sum = 0, sq = 0, cnt = (double) pooled * pix * cg;
                int first = v * pooled * pix, last = (v + 1) * pooled * pix;
                for (int p = first; p < last; p++) for (int ch = g * cg; ch < (g + 1) * cg; ch++) sum += xd[p * c + ch];
                double mean = sum / cnt;
                for (int p = first; p < last; p++)
                    for (int ch = g * cg; ch < (g + 1) * cg; ch++) sq += (xd[p * c + ch] - mean) * (xd[p * c + ch] - mean);
                double rstd = 1 / Math.sqrt(sq / cnt + eps);
                for (int p = first; p < last; p++)
                    for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                        int i = p * c + ch;
                        double xh = (xd[i] - mean) * rstd, dz = yd[i];
                        if (silu) {
                            double z = xh * gd[ch] + bd[ch], sg = 1 / (1 + Math.exp(-z));
                            dz *= sg * (1 + z * (1 - sg));
                        }
                        refG[ch] += dz * xh;
                        refB[ch] += dz;
                    }
            }
        String what = "groupNorm affine groups " + groups + " pooled " + pooled + " silu " + silu;
        assertClose(what + " dGamma vs loop", refG, dGamma, 1e-5);
        assertClose(what + " dBeta vs loop", refB, dBeta, 1e-5);

        CpuOps fwd = new CpuOps();
        try (Tensor y = Tensor.host(n, h, w, c)) {
            java.util.function.DoubleSupplier loss = () -> {
                fwd.groupNorm(x, groups, pooled, gamma, beta, eps, silu, y);
                return CpuGradCheck.dot(yd, y);
            };
            assertClose(what + " dGamma vs finite differences", CpuGradCheck.plus(g0, grad(gamma, 1e-2, loss)), dGamma, 1e-3);
            assertClose(what + " dBeta vs finite differences", CpuGradCheck.plus(b0, grad(beta, 1e-2, loss)), dBeta, 1e-3);
        }
    }

    /**
     * dGamma and dBeta of LayerNorm (accumulated onto random values) against a plain double loop and central
     * differences of the CPU forward {@code layerNorm} w.r.t. γ and β; 140 rows take several chunks.
     */
    @ParameterizedTest
    @CsvSource({"3, 5, 7", "1, 4, 40", "2, 3, 33", "2, 70, 19"})
    void layerNormAffineMatchesLoopAndFiniteDifferences(int a, int b, int d) {
        Random rnd = new Random(a * 11L + b + d);
        Tensor x = rand(rnd, -0.2f, a, b, d), gamma = rand(rnd, 1f, d), beta = rand(rnd, d), dY = rand(rnd, a, b, d);
        Tensor dGamma = rand(rnd, d), dBeta = rand(rnd, d);
        double[] g0 = d(dGamma), b0 = d(dBeta), xd = d(x), yd = d(dY);
        float eps = 1e-5f;
        grads.layerNormBackwardAffine(x, gamma, eps, dY, dGamma, dBeta);

        double[] refG = g0.clone(), refB = b0.clone();
        for (int r = 0; r < a * b; r++) {
            double mean = 0, sq = 0;
            for (int i = 0; i < d; i++) mean += xd[r * d + i];
            mean /= d;
            for (int i = 0; i < d; i++) sq += (xd[r * d + i] - mean) * (xd[r * d + i] - mean);
            double rstd = 1 / Math.sqrt(sq / d + eps);
            for (int i = 0; i < d; i++) {
                refG[i] += yd[r * d + i] * (xd[r * d + i] - mean) * rstd;
                refB[i] += yd[r * d + i];
            }
        }
        assertClose("layerNorm dGamma d=" + d + " vs loop", refG, dGamma, 1e-5);
        assertClose("layerNorm dBeta d=" + d + " vs loop", refB, dBeta, 1e-5);

        CpuOps fwd = new CpuOps();
        try (Tensor y = Tensor.host(a, b, d)) {
            java.util.function.DoubleSupplier loss = () -> {
                fwd.layerNorm(x, gamma, beta, eps, y);
                return CpuGradCheck.dot(yd, y);
            };
            assertClose("layerNorm dGamma d=" + d + " vs finite differences", CpuGradCheck.plus(g0, grad(gamma, 0.25, loss)), dGamma, 1e-4);
            assertClose("layerNorm dBeta d=" + d + " vs finite differences", CpuGradCheck.plus(b0, grad(beta, 0.25, loss)), dBeta, 1e-4);
        }
    }

    /** Either affine output may be null; the other gets the same values as when both are asked for. */
    @Test
    void affineOutputsMayBeNull() {
        Random rnd = new Random(5);
        Tensor x = rand(rnd, 0.1f, 2, 4, 4, 8), gamma = rand(rnd, 1f, 8), beta = rand(rnd, 8), dY = rand(rnd, 2, 4, 4, 8);
        Tensor g = Tensor.zeros(8), b = Tensor.zeros(8), gOnly = Tensor.zeros(8), bOnly = Tensor.zeros(8);
        grads.groupNormBackwardAffine(x, 2, 2, gamma, beta, 1e-5f, true, dY, g, b);
        grads.groupNormBackwardAffine(x, 2, 2, gamma, beta, 1e-5f, true, dY, gOnly, null);
        grads.groupNormBackwardAffine(x, 2, 2, gamma, beta, 1e-5f, true, dY, null, bOnly);
        org.junit.jupiter.api.Assertions.assertArrayEquals(g.toArray(), gOnly.toArray(), "groupNorm dGamma alone");
        org.junit.jupiter.api.Assertions.assertArrayEquals(b.toArray(), bOnly.toArray(), "groupNorm dBeta alone");
        grads.groupNormBackwardAffine(x, 2, 2, gamma, beta, 1e-5f, true, dY, null, null);  // nothing to do
        Tensor lg = Tensor.zeros(8), lb = Tensor.zeros(8), lgOnly = Tensor.zeros(8), lbOnly = Tensor.zeros(8);
        grads.layerNormBackwardAffine(x, gamma, 1e-5f, dY, lg, lb);
        grads.layerNormBackwardAffine(x, gamma, 1e-5f, dY, lgOnly, null);
        grads.layerNormBackwardAffine(x, gamma, 1e-5f, dY, null, lbOnly);
        org.junit.jupiter.api.Assertions.assertArrayEquals(lg.toArray(), lgOnly.toArray(), "layerNorm dGamma alone");
        org.junit.jupiter.api.Assertions.assertArrayEquals(lb.toArray(), lbOnly.toArray(), "layerNorm dBeta alone");
    }

    @Test
    void rejectsBadAffineArguments() {
        Tensor x = Tensor.zeros(2, 3, 3, 8);
        assertThrows(IllegalArgumentException.class,  // dGamma [7] for 8 channels
                () -> grads.groupNormBackwardAffine(x, 2, 1, Tensor.zeros(8), Tensor.zeros(8), 1e-5f, false, x, Tensor.zeros(7), null));
        assertThrows(IllegalArgumentException.class,  // framesPooled 3 does not divide N = 2
                () -> grads.groupNormBackwardAffine(x, 2, 3, Tensor.zeros(8), Tensor.zeros(8), 1e-5f, false, x, Tensor.zeros(8), null));
        assertThrows(IllegalArgumentException.class,  // dY shape
                () -> grads.layerNormBackwardAffine(x, Tensor.zeros(8), 1e-5f, Tensor.zeros(2, 3, 8), null, Tensor.zeros(8)));
        Tensor same = Tensor.zeros(8);
        assertThrows(IllegalArgumentException.class,  // one tensor for both
                () -> grads.layerNormBackwardAffine(x, Tensor.zeros(8), 1e-5f, x, same, same));
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
