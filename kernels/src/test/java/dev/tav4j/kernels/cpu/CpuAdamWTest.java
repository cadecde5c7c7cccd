package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.TestData.rand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tav4j.runtime.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CpuAdamWTest {
    private final CpuGradOps grads = new CpuGradOps();

    /**
     * Three steps with weight decay, each held to the formula in double applied to the float state the previous
     * step left (so the check stays at the level of one step's rounding instead of drifting over steps).
     */
    @Test
    void threeStepsMatchTheDoubleFormula() {
        Random rnd = new Random(3);
        int n = 40_000; // more than one parallel chunk
        double lr = 1e-2, b1 = 0.9, b2 = 0.999, wd = 0.05, eps = 1e-8;
        float scale = 0.7f;
        Tensor p = rand(rnd, 0.2f, n), m = Tensor.zeros(n), v = Tensor.zeros(n);
        for (int step = 1; step <= 3; step++) {
            Tensor g = rand(rnd, n);
            double[] pd = TestData.d(p), md = TestData.d(m), vd = TestData.d(v), dp = new double[n];
            for (int i = 0; i < n; i++) {
                double gi = g.get(i) * (double) scale;
                pd[i] *= 1 - lr * wd;
                md[i] = b1 * md[i] + (1 - b1) * gi;
                vd[i] = b2 * vd[i] + (1 - b2) * gi * gi;
                double mh = md[i] / (1 - Math.pow(b1, step)), vh = vd[i] / (1 - Math.pow(b2, step));
                dp[i] = lr * mh / (Math.sqrt(vh) + eps);
                pd[i] -= dp[i];
            }
            grads.adamW(p, g, m, v, scale, (float) lr, (float) b1, (float) b2, (float) wd, (float) eps, step);
            for (int i = 0; i < n; i++) {
                assertEquals(md[i], m.get(i), 1e-7, "m[" + i + "] step " + step); // |g| < 0.7: float rounding ~4e-8
                assertEquals(vd[i], v.get(i), 1e-6 * vd[i] + 1e-12, "v[" + i + "] step " + step);
                // two float roundings of p (decay, update), the decay factor 1 − lr·wd held in float (≤ 0.3 ulp
                // of p here), and a relative error of the update itself
                double tol = 1.5 * Math.ulp((float) Math.abs(pd[i])) + 1e-4 * Math.abs(dp[i]);
                assertEquals(pd[i], p.get(i), tol, "p[" + i + "] step " + step);
            }
        }
    }

    @Test
    void firstStepMovesEachParameterByAboutLr() {
        // with m̂ = g and v̂ = g², the first step is −lr·sign(g) (plus the decay): a check independent of the formula above
        Tensor p = Tensor.of(new float[] {1f, -2f, 0.5f}, 3), g = Tensor.of(new float[] {0.3f, -4f, 2e-3f}, 3);
        grads.adamW(p, g, Tensor.zeros(3), Tensor.zeros(3), 1f, 1e-3f, 0.9f, 0.999f, 0f, 1e-8f, 1);
        assertEquals(1f - 1e-3f, p.get(0), 1e-7);
        assertEquals(-2f + 1e-3f, p.get(1), 1e-7);
        assertEquals(0.5f - 1e-3f, p.get(2), 1e-7);
    }

    @Test
    void rejectsBadArguments() {
        Tensor p = Tensor.zeros(4), g = Tensor.zeros(4), m = Tensor.zeros(4), v = Tensor.zeros(4);
        assertThrows(IllegalArgumentException.class, () -> grads.adamW(p, g, m, v, 1f, 1e-3f, 0.9f, 0.999f, 0f, 1e-8f, 0));
        assertThrows(IllegalArgumentException.class,
                () -> grads.adamW(p, Tensor.zeros(5), m, v, 1f, 1e-3f, 0.9f, 0.999f, 0f, 1e-8f, 1));
        assertThrows(IllegalArgumentException.class, () -> grads.adamW(p, g, m, m, 1f, 1e-3f, 0.9f, 0.999f, 0f, 1e-8f, 1));
    }
}
