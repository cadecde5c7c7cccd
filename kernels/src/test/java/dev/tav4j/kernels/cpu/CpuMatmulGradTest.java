package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.CpuGradCheck.d;
import static dev.tav4j.kernels.cpu.CpuGradCheck.grad;
import static dev.tav4j.kernels.cpu.CpuGradCheck.plus;
import static dev.tav4j.kernels.cpu.TestData.assertClose;
import static dev.tav4j.kernels.cpu.TestData.rand;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tav4j.runtime.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CpuMatmulGradTest {
    private final CpuGradOps grads = new CpuGradOps();

    /** y[M, N] = x[M, K] · w[K, N] + b in double. */
    static double[] matmul(double[] x, double[] w, double[] b, int m, int k, int n) {
        double[] y = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = b == null ? 0 : b[j];
                for (int kk = 0; kk < k; kk++) s += x[i * k + kk] * w[kk * n + j];
                y[i * n + j] = s;
            }
        return y;
    }

    @ParameterizedTest
    @CsvSource({"3, 13, 19, 23", "1, 1, 5, 3", "2, 9, 40, 33", "1, 7, 1, 17"})
    void allGradientsMatchFiniteDifferences(int b0, int b1, int k, int n) {
        Random rnd = new Random(b0 * 100L + b1 * 10 + k + n);
        int m = b0 * b1;
        Tensor x = rand(rnd, b0, b1, k), w = rand(rnd, k, n), bias = rand(rnd, n), dY = rand(rnd, b0, b1, n);
        double[] xd = d(x), wd = d(w), bd = d(bias), r = d(dY);

        Tensor dX = Tensor.host(b0, b1, k);
        grads.matmulBackwardInput(dY, w, dX);
        assertClose("dX", grad(xx -> matmul(xx, wd, bd, m, k, n), xd, r), dX, 1e-5);

        Tensor dW = rand(rnd, k, n), dB = rand(rnd, n); // accumulates onto what is there
        double[] dW0 = d(dW), dB0 = d(dB);
        grads.matmulBackwardWeight(x, dY, dW, dB);
        assertClose("dW", plus(dW0, grad(ww -> matmul(xd, ww, bd, m, k, n), wd, r)), dW, 1e-5);
        assertClose("dBias", plus(dB0, grad(bb -> matmul(xd, wd, bb, m, k, n), bd, r)), dB, 1e-5);
    }

    @Test
    void weightGradientOverManyRowBlocks() {
        Random rnd = new Random(11);
        int m = 2 * 1024 + 301, k = 21, n = 35; // several blocks of rows (at most 1024 each)
        Tensor x = rand(rnd, m, k), dY = rand(rnd, m, n), dW = Tensor.zeros(k, n);
        grads.matmulBackwardWeight(x, dY, dW, null);
        double[] ref = new double[k * n];
        for (int i = 0; i < m; i++)
            for (int a = 0; a < k; a++)
                for (int b = 0; b < n; b++) ref[a * n + b] += (double) x.get((long) i * k + a) * dY.get((long) i * n + b);
        assertClose("dW over " + m + " rows", ref, dW, 2e-5);
        grads.matmulBackwardWeight(x, dY, dW, null); // a second call adds the same again
        for (int i = 0; i < ref.length; i++) ref[i] *= 2;
        assertClose("dW accumulated twice", ref, dW, 2e-5);
    }

    @Test
    void rejectsMismatchedShapes() {
        Tensor w = Tensor.zeros(4, 5);
        assertThrows(IllegalArgumentException.class, () -> grads.matmulBackwardInput(Tensor.zeros(3, 4), w, Tensor.zeros(3, 4)));
        assertThrows(IllegalArgumentException.class, () -> grads.matmulBackwardInput(Tensor.zeros(3, 5), w, Tensor.zeros(2, 4)));
        assertThrows(IllegalArgumentException.class,
                () -> grads.matmulBackwardWeight(Tensor.zeros(3, 4), Tensor.zeros(3, 5), w, Tensor.zeros(4)));
        assertThrows(IllegalArgumentException.class,
                () -> grads.matmulBackwardWeight(Tensor.zeros(3, 4), Tensor.zeros(2, 5), w, null));
    }
}
