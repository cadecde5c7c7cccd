package dev.tav4j.kernels.cpu;

/**
 * The scalar twins of {@link VMath}: the same functions, by the same formulas, element by element over [0, n)
 * (no padding needed), e^x from {@link Math#exp}. out may be x.
 */
final class ScalarMath {
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));

    private ScalarMath() {}

    static float exp(float x) {
        return (float) Math.exp(x);
    }

    /** x · sigmoid(x) = x / (1 + e^−x). */
    static void silu(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i++) out[i] = x[i] / (exp(-x[i]) + 1f);
    }

    static void exp(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i++) out[i] = exp(x[i]);
    }

    /** x · sigmoid(1.702 x). */
    static void quickGelu(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i++) out[i] = x[i] / (exp(x[i] * -1.702f) + 1f);
    }

    /** Exact GELU x · Φ(x), Φ as {@link #cdf}. */
    static void gelu(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i++) out[i] = x[i] * phi(x[i]);
    }

    /** φ(x) = exp(−x²/2)/√(2π). */
    static void pdf(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i++) out[i] = exp(x[i] * x[i] * -0.5f) * INV_SQRT_2PI;
    }

    /** Φ(x). */
    static void cdf(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i++) out[i] = phi(x[i]);
    }

    /** Φ(x) = ½·erfc(−x/√2), erfc from the Chebyshev fit of Numerical Recipes, as {@link VMath} computes it. */
    static float phi(float x) {
        float u = x * INV_SQRT2, z = Math.abs(u);
        float t = 1f / (z * 0.5f + 1f);
        float p = t * 0.17087277f - 0.82215223f;
        p = p * t + 1.48851587f;
        p = p * t - 1.13520398f;
        p = p * t + 0.27886807f;
        p = p * t - 0.18628806f;
        p = p * t + 0.09678418f;
        p = p * t + 0.37409196f;
        p = p * t + 1.00002368f;
        p = p * t - 1.26551223f;
        float halfErfc = t * exp(-z * z + p) * 0.5f;  // ½·erfc(|u|)
        return u < 0f ? halfErfc : 1f - halfErfc;
    }

    /** d/dx of x·σ(k·x) = σ(kx)·(1 + kx·(1 − σ(kx))). */
    static void sigmoidDerivProduct(float[] x, float k, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            float kx = x[i] * k, s = 1f / (exp(-kx) + 1f);
            out[i] = s * (kx * (1f - s) + 1f);
        }
    }

    /** x[i] = gelu'(x[i]) = x·φ(x) + Φ(x). */
    static void geluDeriv(float[] x, int n) {
        for (int i = 0; i < n; i++) {
            float v = x[i];
            x[i] = v * exp(v * v * -0.5f) * INV_SQRT_2PI + phi(v);
        }
    }

    /** a ← dA = dy·(g·Φ(g)) and pdf ← dG = dy·a·(g·φ(g) + Φ(g)), from a, g, dy, phi = Φ(g) and pdf = φ(g). */
    static void gegluGrads(float[] a, float[] g, float[] dy, float[] phi, float[] pdf, int n) {
        for (int i = 0; i < n; i++) {
            float y = dy[i], gate = g[i], p = phi[i];
            pdf[i] = y * a[i] * (gate * pdf[i] + p);
            a[i] = y * (gate * p);
        }
    }

    /** a[i] = a[i] · b[i]. */
    static void mul(float[] a, float[] b, int n) {
        for (int i = 0; i < n; i++) a[i] *= b[i];
    }
}
