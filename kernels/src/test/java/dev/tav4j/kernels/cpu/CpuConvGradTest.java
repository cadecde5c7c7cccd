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

class CpuConvGradTest {
    private final CpuGradOps grads = new CpuGradOps();

    /** Plain conv2d in double, channels-last, zero padding (top/left = pad, or bottom/right only by one). */
    static double[] conv(double[] x, double[] w, int n, int h, int wd, int ci, int kh, int kw, int co, int stride,
                         int pad, boolean br, int ho, int wo) {
        int top = br ? 0 : pad;
        double[] y = new double[n * ho * wo * co];
        for (int img = 0; img < n; img++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int o = 0; o < co; o++) {
                        double s = 0;
                        for (int dy = 0; dy < kh; dy++)
                            for (int dx = 0; dx < kw; dx++) {
                                int iy = oy * stride + dy - top, ix = ox * stride + dx - top;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                for (int c = 0; c < ci; c++)
                                    s += x[((img * h + iy) * wd + ix) * ci + c] * w[((dy * kw + dx) * ci + c) * co + o];
                            }
                        y[((img * ho + oy) * wo + ox) * co + o] = s;
                    }
        return y;
    }

    @ParameterizedTest
    @CsvSource({
            // n, h, w, ci, co, kh, kw, stride, pad, bottomRightOnly
            "2, 5, 7, 3, 4, 3, 3, 1, 1, false",
            "1, 6, 5, 5, 3, 1, 1, 1, 0, false",
            "2, 7, 6, 4, 5, 3, 3, 2, 1, false",
            "1, 8, 8, 3, 2, 3, 3, 2, 1, false",
            "2, 6, 5, 3, 4, 3, 3, 2, 0, true",
            "1, 7, 7, 2, 3, 3, 3, 2, 0, true",
            "1, 5, 6, 3, 3, 3, 3, 1, 0, false",
            "1, 5, 6, 2, 3, 1, 3, 1, 1, false",
            "2, 6, 6, 3, 2, 2, 2, 2, 0, false",
            "1, 4, 5, 17, 19, 3, 3, 1, 2, false"})
    void inputGradientMatchesFiniteDifferences(int n, int h, int wd, int ci, int co, int kh, int kw, int stride,
                                               int pad, boolean br) {
        Random rnd = new Random(h * 31L + wd * 7 + ci + co + stride);
        int hp = h + (br ? 1 : 2 * pad), wp = wd + (br ? 1 : 2 * pad);
        int ho = (hp - kh) / stride + 1, wo = (wp - kw) / stride + 1;
        Tensor x = rand(rnd, n, h, wd, ci), w = rand(rnd, kh, kw, ci, co), dY = rand(rnd, n, ho, wo, co);
        Tensor dX = Tensor.host(n, h, wd, ci);
        grads.conv2dBackwardInput(dY, w, stride, pad, br, dX);
        double[] wdd = d(w);
        double[] ref = grad(xx -> conv(xx, wdd, n, h, wd, ci, kh, kw, co, stride, pad, br, ho, wo), d(x), d(dY));
        assertClose("conv dX k" + kh + "x" + kw + " s" + stride + " p" + pad + (br ? " br" : ""), ref, dX, 1e-5);
    }

    /**
     * dW and dBias (accumulated onto random values) against (1) the sum over images and output pixels of
     * patch ⊗ dY in a plain double loop and (2) central differences of the CPU forward {@code conv2d} in float of
     * L = Σ dY ⊙ conv2d(x, w, b) w.r.t. w and b (L is linear in both, so wide steps are exact but for rounding).
     */
    @ParameterizedTest
    @CsvSource({
            // n, h, w, ci, co, kh, kw, stride, pad, bottomRightOnly
            "2, 5, 7, 3, 4, 3, 3, 1, 1, false",
            "1, 6, 5, 5, 3, 1, 1, 1, 0, false",
            "2, 7, 6, 4, 5, 3, 3, 2, 1, false",
            "1, 8, 8, 3, 2, 3, 3, 2, 1, false",
            "2, 6, 5, 3, 4, 3, 3, 2, 0, true",
            "1, 7, 7, 2, 3, 3, 3, 2, 0, true",
            "1, 5, 6, 3, 3, 3, 3, 1, 0, false",
            "1, 5, 6, 2, 3, 1, 3, 1, 1, false",
            "2, 6, 6, 3, 2, 2, 2, 2, 0, false",
            "1, 4, 5, 17, 19, 3, 3, 1, 2, false",
            "3, 9, 11, 6, 21, 3, 3, 1, 1, false"})
    void weightGradientMatchesLoopAndFiniteDifferences(int n, int h, int wd, int ci, int co, int kh, int kw, int stride,
                                                        int pad, boolean br) {
        Random rnd = new Random(h * 29L + wd * 5 + ci + co * 3 + stride);
        int top = br ? 0 : pad, hp = h + (br ? 1 : 2 * pad), wp = wd + (br ? 1 : 2 * pad);
        int ho = (hp - kh) / stride + 1, wo = (wp - kw) / stride + 1;
        Tensor x = rand(rnd, n, h, wd, ci), dY = rand(rnd, n, ho, wo, co);
        Tensor dW = rand(rnd, kh, kw, ci, co), dBias = rand(rnd, co);
        double[] w0 = d(dW), b0 = d(dBias), xd = d(x), yd = d(dY);
        grads.conv2dBackwardWeight(x, dY, stride, pad, br, dW, dBias);

        double[] refW = w0.clone(), refB = b0.clone();
        for (int img = 0; img < n; img++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    int yo = ((img * ho + oy) * wo + ox) * co;
                    for (int o = 0; o < co; o++) refB[o] += yd[yo + o];
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++) {
                            int iy = oy * stride - top + ky, ix = ox * stride - top + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                            for (int c = 0; c < ci; c++)
                                for (int o = 0; o < co; o++)
                                    refW[((ky * kw + kx) * ci + c) * co + o] += xd[((img * h + iy) * wd + ix) * ci + c] * yd[yo + o];
                        }
                }
        String what = "conv dW k" + kh + "x" + kw + " s" + stride + " p" + pad + (br ? " br" : "");
        assertClose(what + " vs loop", refW, dW, 1e-5);
        assertClose(what + " dBias vs loop", refB, dBias, 1e-5);

        CpuOps fwd = new CpuOps();
        try (Tensor w = rand(rnd, kh, kw, ci, co); Tensor b = rand(rnd, co); Tensor y = Tensor.host(n, ho, wo, co)) {
            java.util.function.DoubleSupplier loss = () -> {
                fwd.conv2d(x, w, b, stride, pad, br, y);
                return CpuGradCheck.dot(yd, y);
            };
            assertClose(what + " vs finite differences", CpuGradCheck.plus(w0, grad(w, 0.25, loss)), dW, 1e-4);
            assertClose(what + " dBias vs finite differences", CpuGradCheck.plus(b0, grad(b, 0.25, loss)), dBias, 1e-4);
        }
    }

    /** A null dBias leaves dW as it is with one; dW may also be the only output. */
    @Test
    void weightGradientWithoutBiasIsTheSame() {
        Random rnd = new Random(3);
        Tensor x = rand(rnd, 2, 6, 5, 4), dY = rand(rnd, 2, 3, 3, 7), w0 = rand(rnd, 3, 3, 4, 7);
        Tensor a = Tensor.host(3, 3, 4, 7), b = Tensor.host(3, 3, 4, 7);
        a.copyFrom(w0);
        b.copyFrom(w0);
        grads.conv2dBackwardWeight(x, dY, 2, 1, false, a, Tensor.zeros(7));
        grads.conv2dBackwardWeight(x, dY, 2, 1, false, b, null);
        org.junit.jupiter.api.Assertions.assertArrayEquals(a.toArray(), b.toArray());
    }

    @Test
    void rejectsWrongWeightGradientShapes() {
        Tensor x = Tensor.zeros(1, 8, 8, 4);
        assertThrows(IllegalArgumentException.class,  // dY is 4x4 for stride 2
                () -> grads.conv2dBackwardWeight(x, Tensor.zeros(1, 8, 8, 5), 2, 1, false, Tensor.zeros(3, 3, 4, 5), null));
        assertThrows(IllegalArgumentException.class,  // Ci 3 vs x's 4
                () -> grads.conv2dBackwardWeight(x, Tensor.zeros(1, 8, 8, 5), 1, 1, false, Tensor.zeros(3, 3, 3, 5), null));
        assertThrows(IllegalArgumentException.class,  // dBias [4] for Co 5
                () -> grads.conv2dBackwardWeight(x, Tensor.zeros(1, 8, 8, 5), 1, 1, false, Tensor.zeros(3, 3, 4, 5), Tensor.zeros(4)));
        assertThrows(IllegalArgumentException.class,  // padBottomRightOnly with padding
                () -> grads.conv2dBackwardWeight(x, Tensor.zeros(1, 4, 4, 5), 2, 1, true, Tensor.zeros(3, 3, 4, 5), null));
    }

    @Test
    void rejectsWrongGradientShape() {
        Tensor w = Tensor.zeros(3, 3, 4, 5);
        assertThrows(IllegalArgumentException.class,
                () -> grads.conv2dBackwardInput(Tensor.zeros(1, 5, 5, 5), w, 2, 1, false, Tensor.zeros(1, 8, 8, 4)));
        assertThrows(IllegalArgumentException.class,
                () -> grads.conv2dBackwardInput(Tensor.zeros(1, 8, 8, 5), w, 1, 1, false, Tensor.zeros(1, 8, 8, 3)));
    }
}
