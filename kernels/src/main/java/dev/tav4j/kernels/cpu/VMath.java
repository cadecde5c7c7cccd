package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Vectorised activation math in float, accurate to a few 1e-7 relative, over blocks of per-thread arrays:
 * out[i] = f(x[i]) for i &lt; n, computed on whole vectors up to {@code roundUp(n, VL)} (the arrays must be that long;
 * lanes past n compute garbage nobody reads), out may be x. Each function is one small loop of Vector API calls,
 * so C2 inlines all of it whatever else the process has compiled (see {@link Vec}); callers copy their data in
 * and out in blocks of {@link #BLOCK}. e^x is the Vector API's EXP (SVML on x86), measured faster than a
 * hand-written Cephes polynomial here.
 */
final class VMath {
    /** Floats per block: a few blocks stay in L1. */
    static final int BLOCK = 1024;
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));

    /** {@link #gelu} and {@link #cdf}, about 13,000 IR nodes each, always compile alone ({@link Vec#alone}). */
    private static java.lang.invoke.MethodHandle gelu = Vec.alone(java.lang.invoke.MethodHandles.lookup(), "geluLoop",
            float[].class, float[].class, int.class);
    private static java.lang.invoke.MethodHandle cdf = Vec.alone(java.lang.invoke.MethodHandles.lookup(), "cdfLoop",
            float[].class, float[].class, int.class);

    private VMath() {}

    /** x · sigmoid(x) = x / (1 + e^−x). */
    static void silu(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            v.div(v.neg().lanewise(VectorOperators.EXP).add(1f)).intoArray(out, i);
        }
    }

    /** e^x. */
    static void exp(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i += VL) FloatVector.fromArray(S, x, i).lanewise(VectorOperators.EXP).intoArray(out, i);
    }

    /** x · sigmoid(1.702 x), CLIP's quick GELU. */
    static void quickGelu(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            v.div(v.mul(-1.702f).lanewise(VectorOperators.EXP).add(1f)).intoArray(out, i);
        }
    }

    /**
     * Exact GELU x · Φ(x) = ½·x·erfc(−x/√2), with erfc from the Chebyshev fit of Numerical Recipes (fractional
     * error below 1.2e-7 everywhere); going through erfc keeps the negative tail accurate in relative terms.
     */
    static void gelu(float[] x, float[] out, int n) {
        try {
            gelu.invokeExact(x, out, n);
        } catch (Throwable t) {
            throw Vec.rethrow(t);
        }
    }

    private static void geluLoop(float[] x, float[] out, int n) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int i = 0; i < n; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            FloatVector u = v.mul(INV_SQRT2);
            FloatVector z = u.abs();
            FloatVector t = one.div(z.fma(0.5f, 1f));
            FloatVector p = t.fma(0.17087277f, -0.82215223f); // t·a + b
            p = p.fma(t, FloatVector.broadcast(S, 1.48851587f));
            p = p.fma(t, FloatVector.broadcast(S, -1.13520398f));
            p = p.fma(t, FloatVector.broadcast(S, 0.27886807f));
            p = p.fma(t, FloatVector.broadcast(S, -0.18628806f));
            p = p.fma(t, FloatVector.broadcast(S, 0.09678418f));
            p = p.fma(t, FloatVector.broadcast(S, 0.37409196f));
            p = p.fma(t, FloatVector.broadcast(S, 1.00002368f));
            p = p.fma(t, FloatVector.broadcast(S, -1.26551223f));
            FloatVector erfcZ = t.mul(z.mul(z).neg().add(p).lanewise(VectorOperators.EXP)); // erfc(|u|)
            // Φ·2 = 1 + erf(u): erfc(|u|) for u < 0, 2 − erfc(|u|) otherwise
            VectorMask<Float> neg = u.lt(0f);
            FloatVector twoPhi = erfcZ.neg().add(2f).blend(erfcZ, neg);
            v.mul(0.5f).mul(twoPhi).intoArray(out, i);
        }
    }

    /** φ(x) = exp(−x²/2)/√(2π). */
    static void pdf(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            v.mul(v).mul(-0.5f).lanewise(VectorOperators.EXP).mul(INV_SQRT_2PI).intoArray(out, i);
        }
    }

    /** Φ(x) = ½·erfc(−x/√2), by the same approximation as {@link #gelu}. */
    static void cdf(float[] x, float[] out, int n) {
        try {
            cdf.invokeExact(x, out, n);
        } catch (Throwable t) {
            throw Vec.rethrow(t);
        }
    }

    private static void cdfLoop(float[] x, float[] out, int n) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int i = 0; i < n; i += VL) {
            FloatVector u = FloatVector.fromArray(S, x, i).mul(INV_SQRT2);
            FloatVector z = u.abs();
            FloatVector t = one.div(z.fma(0.5f, 1f));
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
            halfErfc.neg().add(1f).blend(halfErfc, u.lt(0f)).intoArray(out, i);
        }
    }

    /** d/dx of x·σ(k·x) = σ(kx)·(1 + kx·(1 − σ(kx))). */
    static void sigmoidDerivProduct(float[] x, float k, float[] out, int n) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int i = 0; i < n; i += VL) {
            FloatVector kx = FloatVector.fromArray(S, x, i).mul(k);
            FloatVector s = one.div(kx.neg().lanewise(VectorOperators.EXP).add(1f));
            s.mul(kx.mul(s.neg().add(1f)).add(1f)).intoArray(out, i);
        }
    }

    private static java.lang.invoke.MethodHandle geluDeriv = Vec.alone(java.lang.invoke.MethodHandles.lookup(),
            "geluDerivLoop", float[].class, int.class);

    /** x[i] = gelu'(x[i]), compiled alone ({@link Vec#alone}). */
    static void geluDeriv(float[] x, int n) {
        try {
            geluDeriv.invokeExact(x, n);
        } catch (Throwable t) {
            throw Vec.rethrow(t);
        }
    }

    /** x[i] = gelu'(x[i]) = x·φ(x) + Φ(x). */
    private static void geluDerivLoop(float[] x, int n) {
        float[] p = Scratch.floats(2, VMath.BLOCK), c = Scratch.floats(3, VMath.BLOCK);
        pdf(x, p, n);
        cdf(x, c, n);
        for (int i = 0; i < n; i += VL)
            FloatVector.fromArray(S, x, i).mul(FloatVector.fromArray(S, p, i)).add(FloatVector.fromArray(S, c, i)).intoArray(x, i);
    }

    /** a ← dA = dy·(g·Φ(g)) and pdf ← dG = dy·a·(g·φ(g) + Φ(g)), from a, g, dy, phi = Φ(g) and pdf = φ(g). */
    static void gegluGrads(float[] a, float[] g, float[] dy, float[] phi, float[] pdf, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector av = FloatVector.fromArray(S, a, i), gate = FloatVector.fromArray(S, g, i);
            FloatVector y = FloatVector.fromArray(S, dy, i), p = FloatVector.fromArray(S, phi, i);
            y.mul(av).mul(gate.mul(FloatVector.fromArray(S, pdf, i)).add(p)).intoArray(pdf, i);
            y.mul(gate.mul(p)).intoArray(a, i);
        }
    }

    /** a[i] = a[i] · b[i]. */
    static void mul(float[] a, float[] b, int n) {
        for (int i = 0; i < n; i += VL) FloatVector.fromArray(S, a, i).mul(FloatVector.fromArray(S, b, i)).intoArray(a, i);
    }

    /** Whole vectors covering n floats. */
    static int whole(int n) {
        return Floats.roundUp(n, VL);
    }
}
