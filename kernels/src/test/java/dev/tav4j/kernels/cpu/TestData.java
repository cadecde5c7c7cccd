package dev.tav4j.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tav4j.runtime.Tensor;
import java.util.Arrays;
import java.util.Random;

/** Seeded random tensors and the relative error check every CPU op test uses. */
final class TestData {
    private TestData() {}

    /** Uniform in [−1, 1) plus an offset, never all zeros. */
    static Tensor rand(Random rnd, float offset, int... shape) {
        Tensor t = Tensor.host(shape);
        for (long i = 0; i < t.size(); i++) t.set(i, offset + 2 * rnd.nextFloat() - 1);
        return t;
    }

    static Tensor rand(Random rnd, int... shape) {
        return rand(rnd, 0f, shape);
    }

    static double[] d(Tensor t) {
        double[] r = new double[Math.toIntExact(t.size())];
        for (int i = 0; i < r.length; i++) r[i] = t.get(i);
        return r;
    }

    /** Asserts max |got − ref| / max |ref| ≤ tol (and that the reference is not trivially zero). */
    static double assertClose(String what, double[] ref, Tensor got, double tol) {
        assertEquals(ref.length, got.size(), what + ": element count");
        double maxRef = 0, maxErr = 0;
        int worst = -1;
        for (int i = 0; i < ref.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
            double e = Math.abs(got.get(i) - ref[i]);
            if (!(e <= maxErr)) { maxErr = e; worst = i; }
        }
        assertTrue(maxRef > 0, what + ": reference is all zeros");
        double rel = maxErr / maxRef;
        assertTrue(rel <= tol, what + ": max error " + maxErr + " / max ref " + maxRef + " = " + rel + " > " + tol
                + " at " + worst + " (got " + (worst >= 0 ? got.get(worst) : 0) + ", ref " + (worst >= 0 ? ref[worst] : 0)
                + ") shape " + Arrays.toString(got.shape()));
        return rel;
    }
}
