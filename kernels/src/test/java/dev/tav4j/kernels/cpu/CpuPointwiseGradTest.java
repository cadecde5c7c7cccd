package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.CpuGradCheck.d;
import static dev.tav4j.kernels.cpu.CpuGradCheck.grad;
import static dev.tav4j.kernels.cpu.TestData.assertClose;
import static dev.tav4j.kernels.cpu.TestData.rand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Tensor;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class CpuPointwiseGradTest {
    private final CpuGradOps grads = new CpuGradOps();

    static double gelu(double x) {
        return 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)));
    }

    static DoubleUnaryOperator fn(Activation act) {
        return switch (act) {
            case SILU -> x -> x / (1 + Math.exp(-x));
            case QUICK_GELU -> x -> x / (1 + Math.exp(-1.702 * x));
            case GELU -> CpuPointwiseGradTest::gelu;
            case EXP -> Math::exp;
        };
    }

    static double[] map(double[] x, DoubleUnaryOperator f) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = f.applyAsDouble(x[i]);
        return y;
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationMatchesFiniteDifferences(Activation act) {
        Random rnd = new Random(act.ordinal());
        int n = 1037;
        Tensor x = Tensor.host(n), dY = rand(rnd, n);
        for (int i = 0; i < n; i++) x.set(i, (float) (-9 + 18.0 * i / (n - 1)) + 0.01f * rnd.nextFloat()); // spans both tails
        Tensor dX = Tensor.host(n);
        grads.activationBackward(act, x, dY, dX);
        DoubleUnaryOperator f = fn(act);
        double[] ref = grad(xx -> map(xx, f), d(x), d(dY), 1e-5);
        assertClose(act + " dX", ref, dX, 2e-6);
        grads.activationBackward(act, x, dY, dY); // in place
        assertClose(act + " dX in place", ref, dY, 2e-6);
    }

    static double[] geglu(double[] x, int d) {
        int rows = x.length / (2 * d);
        double[] y = new double[rows * d];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < d; i++) y[r * d + i] = x[r * 2 * d + i] * gelu(x[r * 2 * d + d + i]);
        return y;
    }

    @ParameterizedTest
    @CsvSource({"3, 5, 7", "1, 2, 40", "2, 3, 1"})
    void gegluMatchesFiniteDifferences(int a, int b, int d) {
        Random rnd = new Random(a + 10L * d);
        Tensor x = rand(rnd, a, b, 2 * d), dY = rand(rnd, a, b, d);
        for (long i = 0; i < x.size(); i++) x.set(i, x.get(i) * 4); // gates over [−4, 4]
        Tensor dX = Tensor.host(a, b, 2 * d);
        grads.gegluBackward(x, dY, dX);
        assertClose("geglu dX", grad(xx -> geglu(xx, d), d(x), d(dY)), dX, 2e-6);
    }

    static double[] upsample(double[] x, int n, int h, int w, int c, int ho, int wo) {
        double[] y = new double[n * ho * wo * c];
        for (int img = 0; img < n; img++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int ch = 0; ch < c; ch++) {
                        int iy = (int) Math.floor((double) oy * h / ho), ix = (int) Math.floor((double) ox * w / wo);
                        y[((img * ho + oy) * wo + ox) * c + ch] = x[((img * h + iy) * w + ix) * c + ch];
                    }
        return y;
    }

    @ParameterizedTest
    @CsvSource({"2, 3, 4, 5, 6, 8", "1, 3, 5, 3, 7, 11", "2, 5, 4, 2, 2, 3", "1, 4, 4, 17, 8, 8", "1, 2, 3, 4, 5, 5"})
    void upsampleSumsTheCopies(int n, int h, int w, int c, int ho, int wo) {
        Random rnd = new Random(h * 10L + wo);
        Tensor x = rand(rnd, n, h, w, c), dY = rand(rnd, n, ho, wo, c), dX = Tensor.host(n, h, w, c);
        for (long i = 0; i < dX.size(); i++) dX.set(i, 99f); // overwritten, not accumulated
        grads.upsampleNearestBackward(dY, dX);
        double[] ref = grad(xx -> upsample(xx, n, h, w, c, ho, wo), d(x), d(dY));
        if (ho < h || wo < w) { // some inputs are never copied: their gradient is exactly zero
            for (int i = 0; i < ref.length; i++) if (ref[i] == 0) assertEquals(0f, dX.get(i), "untouched input " + i);
        }
        assertClose("upsample " + h + "x" + w + " → " + ho + "x" + wo, ref, dX, 1e-6);
    }

    @Test
    void splitChannelsUndoesConcat() {
        Random rnd = new Random(4);
        Tensor a = rand(rnd, 2, 3, 5, 7), b = rand(rnd, 2, 3, 5, 4), cat = Tensor.host(2, 3, 5, 11);
        new CpuOps().concatChannels(a, b, cat);
        Tensor da = Tensor.host(2, 3, 5, 7), db = Tensor.host(2, 3, 5, 4);
        grads.splitChannels(cat, da, db);
        assertClose("dA", d(a), da, 0);
        assertClose("dB", d(b), db, 0);
        assertThrows(IllegalArgumentException.class, () -> grads.splitChannels(cat, Tensor.host(2, 3, 5, 6), db));
    }

    @Test
    void sumOfSquaresInDouble() {
        Random rnd = new Random(8);
        Tensor x = rand(rnd, 3, 100_003);
        double ref = 0;
        for (long i = 0; i < x.size(); i++) ref += (double) x.get(i) * x.get(i);
        assertEquals(ref, grads.sumOfSquares(x), 1e-12 * ref);
        Tensor big = Tensor.host(1 << 20);
        big.fill(1f + 1f / 1024);
        big.set(7, 3e-4f);
        double s = grads.sumOfSquares(big), expect = ((1 << 20) - 1) * Math.pow(1 + 1.0 / 1024, 2) + Math.pow(3e-4f, 2);
        assertEquals(expect, s, 1e-9); // a float sum would be off by far more than 1e-9
    }
}
