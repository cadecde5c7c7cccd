package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.TestData.assertClose;
import static dev.tav4j.kernels.cpu.TestData.rand;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tav4j.runtime.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GemmConvTest {
    private final CpuOps ops = new CpuOps();

    static double[] matmulRef(Tensor a, Tensor w, Tensor bias) {
        int k = w.dim(0), n = w.dim(1);
        int m = (int) (a.size() / k);
        double[] r = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = bias == null ? 0 : bias.get(j);
                for (int t = 0; t < k; t++) s += (double) a.get((long) i * k + t) * w.get((long) t * n + j);
                r[i * n + j] = s;
            }
        return r;
    }

    @ParameterizedTest
    @CsvSource({"1,1,1,true", "1,5,3,false", "7,13,33,true", "4,64,64,true", "33,17,31,false", "130,40,100,true",
            "9,320,1280,true", "2,3,200,true", "64,256,48,false"})
    void matmulMatchesDoubleReference(int m, int k, int n, boolean withBias) {
        Random rnd = new Random(m * 31L + k * 7L + n);
        Tensor a = rand(rnd, m, k), w = rand(rnd, k, n), bias = withBias ? rand(rnd, n) : null;
        Tensor out = Tensor.host(m, n);
        ops.matmul(a, w, bias, out);
        assertClose("matmul " + m + "x" + k + "x" + n, matmulRef(a, w, bias), out, 1e-5);
    }

    @Test
    void matmulFlattensLeadingDimensions() {
        Random rnd = new Random(3);
        Tensor a = rand(rnd, 2, 3, 5, 24), w = rand(rnd, 24, 19), bias = rand(rnd, 19);
        Tensor out = Tensor.host(2, 3, 5, 19);
        ops.matmul(a, w, bias, out);
        assertClose("matmul 4D", matmulRef(a, w, bias), out, 1e-5);
    }

    @Test
    void matmulRejectsWrongShapes() {
        Tensor a = Tensor.zeros(4, 5), w = Tensor.zeros(6, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> ops.matmul(a, w, null, Tensor.zeros(4, 3)));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("a"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ops.matmul(Tensor.zeros(4, 6), w, null, Tensor.zeros(4, 4)));
        assertThrows(IllegalArgumentException.class, () -> ops.matmul(Tensor.zeros(4, 6), w, Tensor.zeros(4), Tensor.zeros(4, 3)));
    }

    static double[] convRef(Tensor x, Tensor w, Tensor bias, int stride, int pad, boolean br) {
        int n = x.dim(0), h = x.dim(1), wd = x.dim(2), ci = x.dim(3), kh = w.dim(0), kw = w.dim(1), co = w.dim(3);
        int hp = h + (br ? 1 : 2 * pad), wp = wd + (br ? 1 : 2 * pad), top = br ? 0 : pad;
        int ho = (hp - kh) / stride + 1, wo = (wp - kw) / stride + 1;
        double[] r = new double[n * ho * wo * co];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int o = 0; o < co; o++) {
                        double s = bias == null ? 0 : bias.get(o);
                        for (int dy = 0; dy < kh; dy++)
                            for (int dx = 0; dx < kw; dx++) {
                                int iy = oy * stride + dy - top, ix = ox * stride + dx - top;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                for (int c = 0; c < ci; c++)
                                    s += (double) x.get((((long) b * h + iy) * wd + ix) * ci + c)
                                            * w.get((((long) dy * kw + dx) * ci + c) * co + o);
                            }
                        r[((b * ho + oy) * wo + ox) * co + o] = s;
                    }
        return r;
    }

    @ParameterizedTest
    @CsvSource({
            // n, h, w, ci, co, k, stride, pad, bottomRight, bias
            "1, 5, 7, 3, 5, 3, 1, 1, false, true",
            "2, 8, 6, 13, 33, 3, 1, 1, false, true",
            "3, 9, 5, 4, 16, 3, 2, 1, false, false",
            "1, 8, 10, 5, 13, 3, 2, 0, true, true",
            "1, 7, 7, 16, 8, 3, 2, 0, true, true",
            "2, 6, 5, 7, 40, 1, 1, 0, false, true",
            "1, 4, 4, 64, 64, 3, 1, 1, false, true",
            "2, 6, 3, 32, 17, 1, 1, 0, false, false",
            "1, 5, 6, 3, 4, 3, 1, 0, false, true"})
    void conv2dMatchesDoubleReference(int n, int h, int w, int ci, int co, int k, int stride, int pad, boolean br, boolean withBias) {
        Random rnd = new Random(n * 1000L + h * 100 + w * 10 + ci + co);
        Tensor x = rand(rnd, n, h, w, ci), wt = rand(rnd, k, k, ci, co), bias = withBias ? rand(rnd, co) : null;
        int hp = h + (br ? 1 : 2 * pad), wp = w + (br ? 1 : 2 * pad);
        Tensor out = Tensor.host(n, (hp - k) / stride + 1, (wp - k) / stride + 1, co);
        ops.conv2d(x, wt, bias, stride, pad, br, out);
        assertClose("conv2d", convRef(x, wt, bias, stride, pad, br), out, 1e-5);
    }

    @Test
    void conv2dRejectsWrongOutputShape() {
        Tensor x = Tensor.zeros(1, 4, 4, 3), w = Tensor.zeros(3, 3, 3, 8);
        var e = assertThrows(IllegalArgumentException.class, () -> ops.conv2d(x, w, null, 1, 1, false, Tensor.zeros(1, 4, 4, 7)));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("out"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ops.conv2d(x, Tensor.zeros(3, 3, 4, 8), null, 1, 1, false, Tensor.zeros(1, 4, 4, 8)));
        assertThrows(IllegalArgumentException.class, () -> ops.conv2d(x, w, null, 2, 1, true, Tensor.zeros(1, 2, 2, 8)));
    }
}
