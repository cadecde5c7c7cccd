package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/** Backward of the point-wise ops: activations and GEGLU (exact erf GELU derivative), vectorised, parallel. */
final class CpuPointwiseGrad {
    private static final int CHUNK = 1 << 14;
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));

    private CpuPointwiseGrad() {}

    static void activation(Activation act, Tensor x, Tensor dY, Tensor dX) {
        String op = "activationBackward";
        if (act == null) throw new IllegalArgumentException(op + ": act is null");
        Check.host(op, "x", x);
        Check.host(op, "dY", dY);
        Check.host(op, "dX", dX);
        Check.sameShape(op, "x", x, "dY", dY);
        Check.sameShape(op, "x", x, "dX", dX);
        MemorySegment xs = x.segment(), ys = dY.segment(), os = dX.segment();
        long n = x.size();
        int items = (int) ((n + CHUNK - 1) / CHUNK);
        Parallel.forRange(items, 1, (lo, hi) -> {
            long end = Math.min(n, (long) hi * CHUNK);
            for (long i = (long) lo * CHUNK; i < end; i += VL) {
                VectorMask<Float> m = Vec.head((int) Math.min(VL, end - i));
                FloatVector v = Vec.load(xs, i, m);
                FloatVector d = switch (act) {
                    case SILU -> sigmoidDerivProduct(v, 1f);
                    case QUICK_GELU -> sigmoidDerivProduct(v, 1.702f);
                    case GELU -> geluDeriv(v);
                    case EXP -> VMath.exp(v);
                };
                Vec.store(Vec.load(ys, i, m).mul(d), os, i, m);
            }
        });
    }

    /** d/dx of x·σ(k·x) = σ(kx)·(1 + kx·(1 − σ(kx))). */
    static FloatVector sigmoidDerivProduct(FloatVector x, float k) {
        FloatVector kx = x.mul(k);
        FloatVector s = FloatVector.broadcast(S, 1f).div(kx.neg().lanewise(VectorOperators.EXP).add(1f));
        return s.mul(kx.mul(s.neg().add(1f)).add(1f));
    }

    /** gelu'(x) = Φ(x) + x·φ(x). */
    static FloatVector geluDeriv(FloatVector x) {
        return x.mul(pdf(x)).add(cdf(x));
    }

    /** φ(x) = exp(−x²/2)/√(2π). */
    static FloatVector pdf(FloatVector x) {
        return x.mul(x).mul(-0.5f).lanewise(VectorOperators.EXP).mul(INV_SQRT_2PI);
    }

    /**
     * Φ(x) = ½·erfc(−x/√2), erfc from the Chebyshev fit of Numerical Recipes (fractional error below 1.2e-7),
     * the same approximation as the forward GELU.
     */
    static FloatVector cdf(FloatVector x) {
        FloatVector u = x.mul(INV_SQRT2);
        FloatVector z = u.abs();
        FloatVector t = FloatVector.broadcast(S, 1f).div(z.fma(0.5f, 1f));
        FloatVector p = t.fma(0.17087277f, -0.82215223f);
        p = p.fma(t, FloatVector.broadcast(S, 1.48851587f));
        p = p.fma(t, FloatVector.broadcast(S, -1.13520398f));
        p = p.fma(t, FloatVector.broadcast(S, 0.27886807f));
        p = p.fma(t, FloatVector.broadcast(S, -0.18628806f));
        p = p.fma(t, FloatVector.broadcast(S, 0.09678418f));
        p = p.fma(t, FloatVector.broadcast(S, 0.37409196f));
        p = p.fma(t, FloatVector.broadcast(S, 1.00002368f));
        p = p.fma(t, FloatVector.broadcast(S, -1.26551223f));
        FloatVector halfErfc = t.mul(z.mul(z).neg().add(p).lanewise(VectorOperators.EXP)).mul(0.5f); // ½·erfc(|u|)
        return halfErfc.neg().add(1f).blend(halfErfc, u.lt(0f));
    }

    static void geglu(Tensor x, Tensor dY, Tensor dX) {
        String op = "gegluBackward";
        Check.host(op, "x", x);
        Check.host(op, "dY", dY);
        Check.host(op, "dX", dX);
        Check.that(x.rank() >= 1 && x.dim(-1) % 2 == 0, op + ": x's last dimension must be even, got " + x);
        Check.sameShape(op, "x", x, "dX", dX);
        int d2 = x.dim(-1), d = d2 / 2;
        int[] expect = x.shape();
        expect[expect.length - 1] = d;
        Check.shape(op, "dY", dY, expect);
        Check.that(!Check.sameBytes(dX, dY), op + ": dX must not alias dY");
        if (d == 0) return;
        int rows = CpuGradSupport.rows(x.size(), d2, op);
        MemorySegment xs = x.segment(), ys = dY.segment(), os = dX.segment();
        Parallel.forRange(rows, Math.max(1, CHUNK / d), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long a = (long) r * d2, o = (long) r * d;
                for (int c = 0; c < d; c += VL) {
                    VectorMask<Float> m = Vec.head(d - c);
                    FloatVector av = Vec.load(xs, a + c, m), gate = Vec.load(xs, a + d + c, m);
                    FloatVector dy = Vec.load(ys, o + c, m);
                    FloatVector phi = cdf(gate);
                    Vec.store(dy.mul(gate.mul(phi)), os, a + c, m);
                    Vec.store(dy.mul(av).mul(gate.mul(pdf(gate)).add(phi)), os, a + d + c, m);
                }
            }
        });
    }
}
