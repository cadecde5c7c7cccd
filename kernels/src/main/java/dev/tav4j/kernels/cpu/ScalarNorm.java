package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Floats.F;

import java.lang.foreign.MemorySegment;

/**
 * The scalar twins of {@link VecNorm}: the same passes, sums in the same order (float within a run, pixels or
 * columns in order), plain loops. Their arrays need no padding (the callers size them with one lane).
 */
final class ScalarNorm {
    private ScalarNorm() {}

    /** acc[ch] = Σ_{r0 ≤ r &lt; r1} x[base + r·C + ch], or Σ (x − mu[ch])² when mu is given, in float, pixels in order. */
    static void channelSums(MemorySegment xs, long base, long r0, long r1, int c, float[] mu, float[] acc) {
        java.util.Arrays.fill(acc, 0, c, 0f);
        for (long r = r0; r < r1; r++) {
            long i = base + r * c;
            if (mu == null) for (int ch = 0; ch < c; ch++) acc[ch] += Floats.get(xs, i + ch);
            else for (int ch = 0; ch < c; ch++) {
                float d = Floats.get(xs, i + ch) - mu[ch];
                acc[ch] += d * d;
            }
        }
    }

    /** Rows [r0, r1): y = x·scale + shift, then SiLU y / (1 + e^−y) when asked. */
    static void groupNormApply(MemorySegment xs, MemorySegment os, long r0, long r1, int c, float[] sc, float[] sh,
                               boolean silu) {
        for (long r = r0; r < r1; r++) {
            long i = r * c;
            for (int ch = 0; ch < c; ch++) {
                float y = Floats.get(xs, i + ch) * sc[ch] + sh[ch];
                Floats.set(os, i + ch, silu ? y / (ScalarMath.exp(-y) + 1f) : y);
            }
        }
    }

    /** LayerNorm forward of rows [lo, hi): mean, then the biased variance around it, then (x − mean)·rstd·γ + β. */
    static void layerNormRows(MemorySegment xs, MemorySegment os, MemorySegment gs, MemorySegment bs, int d, float eps,
                              int lo, int hi) {
        float[] x = Scratch.floats(0, d), g = Scratch.floats(1, d), b = Scratch.floats(2, d);
        MemorySegment.copy(gs, F, 0, g, 0, d);
        MemorySegment.copy(bs, F, 0, b, 0, d);
        for (int r = lo; r < hi; r++) {
            long base = (long) r * d;
            MemorySegment.copy(xs, F, base << 2, x, 0, d);
            float s = 0f;
            for (int j = 0; j < d; j++) s += x[j];
            float mean = s / d, q = 0f;
            for (int j = 0; j < d; j++) q += (x[j] - mean) * (x[j] - mean);
            float rstd = (float) (1.0 / Math.sqrt(q / d + (double) eps));
            for (int j = 0; j < d; j++) x[j] = (x[j] - mean) * rstd * g[j] + b[j];
            MemorySegment.copy(x, 0, os, F, base << 2, d);
        }
    }

    /** The row's mean and rstd as {@link VecNorm}'s backward computes them, into stats[0], stats[1]. */
    private static void rowStatistics(float[] x, int d, float eps, float[] stats) {
        double s = 0;
        for (int j = 0; j < d; j++) s += x[j];
        float mean = (float) (s / d);
        double q = 0;
        for (int j = 0; j < d; j++) q += (x[j] - mean) * (x[j] - mean);
        stats[0] = mean;
        stats[1] = (float) (1.0 / Math.sqrt(q / d + (double) eps));
    }

    /** LayerNorm backward of rows [lo, hi): dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = γ·dy. */
    static void layerNormBackwardRows(MemorySegment xs, MemorySegment ys, MemorySegment os, MemorySegment gs, int d,
                                      float eps, int lo, int hi) {
        float[] ga = Scratch.floats(0, d), x = Scratch.floats(1, d), y = Scratch.floats(2, d);
        float[] st = Scratch.floats(3, 2);
        MemorySegment.copy(gs, F, 0, ga, 0, d);
        for (int r = lo; r < hi; r++) {
            long base = (long) r * d;
            MemorySegment.copy(xs, F, base << 2, x, 0, d);
            MemorySegment.copy(ys, F, base << 2, y, 0, d);
            rowStatistics(x, d, eps, st);
            float mean = st[0], rstd = st[1];
            double s1 = 0, s2 = 0;
            for (int j = 0; j < d; j++) {
                float g = y[j] * ga[j];
                s1 += g;
                s2 += g * ((x[j] - mean) * rstd);
            }
            float m1 = (float) (s1 / d), m2 = (float) (s2 / d);
            for (int j = 0; j < d; j++) {
                float xh = (x[j] - mean) * rstd, g = y[j] * ga[j];
                y[j] = (g - m1 - xh * m2) * rstd;
            }
            MemorySegment.copy(y, 0, os, F, base << 2, d);
        }
    }

    /** Rows [b0, b1): a1 += dy and (a2 non-null) a2 += dy·x̂ per column, in float, rows in order. */
    static void layerNormAffineRun(MemorySegment xs, MemorySegment ys, int d, float eps, int b0, int b1, float[] a1,
                                   float[] a2) {
        float[] x = Scratch.floats(2, d), y = Scratch.floats(3, d), st = Scratch.floats(4, 2);
        for (int r = b0; r < b1; r++) {
            long base = (long) r * d;
            MemorySegment.copy(ys, F, base << 2, y, 0, d);
            for (int j = 0; j < d; j++) a1[j] += y[j];
            if (a2 == null) continue;
            MemorySegment.copy(xs, F, base << 2, x, 0, d);
            rowStatistics(x, d, eps, st);
            float mean = st[0], rstd = st[1];
            for (int j = 0; j < d; j++) a2[j] += y[j] * ((x[j] - mean) * rstd);
        }
    }

    /** acc = Σ g and acc2 = Σ g·x̂ per channel over the rows of a run, g = dy·gm, x̂ = (x − μ)·rstd. */
    static void gradSums(float[] xb, float[] yb, int rows, int cp, float[] mu, float[] rs, float[] gm, float[] acc,
                         float[] acc2) {
        java.util.Arrays.fill(acc, 0, cp, 0f);
        java.util.Arrays.fill(acc2, 0, cp, 0f);
        for (int p = 0, i = 0; p < rows; p++, i += cp)
            for (int ch = 0; ch < cp; ch++) {
                float xh = (xb[i + ch] - mu[ch]) * rs[ch], g = yb[i + ch] * gm[ch];
                acc[ch] += g;
                acc2[ch] += g * xh;
            }
    }

    /** dz/dy through the SiLU after the affine: σ(z)·(1 + z·(1 − σ(z))), z = γ·x̂ + β. */
    private static float siluGrad(float xh, float gamma, float beta) {
        float a = xh * gamma + beta, sig = 1f / (ScalarMath.exp(-a) + 1f);
        return sig * (a * (1f - sig) + 1f);
    }

    /** {@link #gradSums} with dy taken through the SiLU after the affine. */
    static void gradSumsSilu(float[] xb, float[] yb, int rows, int cp, float[] mu, float[] rs, float[] ga, float[] be,
                             float[] gm, float[] acc, float[] acc2) {
        java.util.Arrays.fill(acc, 0, cp, 0f);
        java.util.Arrays.fill(acc2, 0, cp, 0f);
        for (int p = 0, i = 0; p < rows; p++, i += cp)
            for (int ch = 0; ch < cp; ch++) {
                float xh = (xb[i + ch] - mu[ch]) * rs[ch];
                float g = yb[i + ch] * siluGrad(xh, ga[ch], be[ch]) * gm[ch];
                acc[ch] += g;
                acc2[ch] += g * xh;
            }
    }

    /** xb ← (g − m1 − x̂·m2)·rstd over rows × cp, g = dy·γ, the means in ms (mean, rstd, m1, m2 at 0, cp, 2cp, 3cp). */
    static void applyRun(float[] xb, float[] yb, int rows, int cp, float[] ms, float[] ga) {
        for (int p = 0, i = 0; p < rows; p++, i += cp)
            for (int ch = 0; ch < cp; ch++) {
                float rs = ms[cp + ch], xh = (xb[i + ch] - ms[ch]) * rs, g = yb[i + ch] * ga[ch];
                xb[i + ch] = (g - ms[2 * cp + ch] - xh * ms[3 * cp + ch]) * rs;
            }
    }

    /** {@link #applyRun} with dy taken through the SiLU after the affine first. */
    static void applyRunSilu(float[] xb, float[] yb, int rows, int cp, float[] ms, float[] ga, float[] be) {
        for (int p = 0, i = 0; p < rows; p++, i += cp)
            for (int ch = 0; ch < cp; ch++) {
                float rs = ms[cp + ch], xh = (xb[i + ch] - ms[ch]) * rs;
                float g = yb[i + ch] * siluGrad(xh, ga[ch], be[ch]) * ga[ch];
                xb[i + ch] = (g - ms[2 * cp + ch] - xh * ms[3 * cp + ch]) * rs;
            }
    }
}
