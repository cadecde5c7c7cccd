package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.AttentionKind;

/**
 * Plain loops, written from the Ops contract, that the CUDA kernels are held to (a stand-in for the CPU
 * backend until it is merged). Double accumulation, so they are the more accurate side of every comparison.
 */
final class Ref {
    private Ref() {}

    /** Attention per the AttentionKind contract; q, out [n, l, c], k, v [nk, lk, c]. Materialises the scores. */
    static float[] attention(AttentionKind kind, int frames, int heads, float scale, float[] q, float[] k, float[] v,
                             int n, int l, int c, int lk) {
        float[] out = new float[n * l * c];
        int d = c / heads;
        for (int img = 0; img < n; img++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < l; i++) {
                    // the list of (image, row) keys this query sees
                    int[][] keys = keys(kind, frames, img, i, n, l, lk);
                    double[] s = new double[keys.length];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < keys.length; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++)
                            dot += (double) q[(img * l + i) * c + h * d + e] * k[(keys[j][0] * keys[j][2] + keys[j][1]) * c + h * d + e];
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < keys.length; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
                    for (int e = 0; e < d; e++) {
                        double acc = 0;
                        for (int j = 0; j < keys.length; j++) acc += s[j] * v[(keys[j][0] * keys[j][2] + keys[j][1]) * c + h * d + e];
                        out[(img * l + i) * c + h * d + e] = (float) (acc / sum);
                    }
                }
            }
        }
        return out;
    }

    /** {image, row, rows per image} of each key query (img, i) sees. */
    private static int[][] keys(AttentionKind kind, int frames, int img, int i, int n, int l, int lk) {
        return switch (kind) {
            case SELF -> range(img, 0, lk, lk);
            case CAUSAL -> range(img, 0, i + 1, lk);
            case CROSS -> range(img / frames, 0, lk, lk);
            case SPARSE_CAUSAL -> {
                int b = img / frames, f = img % frames;
                int[][] first = range(b * frames, 0, lk, lk), prev = range(b * frames + Math.max(f - 1, 0), 0, lk, lk);
                int[][] all = new int[2 * lk][];
                System.arraycopy(first, 0, all, 0, lk);
                System.arraycopy(prev, 0, all, lk, lk);
                yield all;
            }
            case TEMPORAL -> {
                int b = img / frames;
                int[][] all = new int[frames][];
                for (int g = 0; g < frames; g++) all[g] = new int[] {b * frames + g, i, lk};
                yield all;
            }
        };
    }

    private static int[][] range(int img, int from, int to, int rows) {
        int[][] r = new int[to - from][];
        for (int j = from; j < to; j++) r[j - from] = new int[] {img, j, rows};
        return r;
    }

    static float[] groupNorm(float[] x, int n, long hw, int c, int groups, int pooled, float[] gamma, float[] beta,
                             float eps, boolean silu) {
        float[] out = new float[x.length];
        int cg = c / groups;
        for (int vid = 0; vid < n / pooled; vid++) {
            for (int g = 0; g < groups; g++) {
                double sum = 0, sq = 0;
                long cnt = 0;
                for (int f = 0; f < pooled; f++)
                    for (long p = 0; p < hw; p++)
                        for (int ch = g * cg; ch < (g + 1) * cg; ch++) sum += x[(int) (((vid * pooled + f) * hw + p) * c + ch)];
                cnt = pooled * hw * cg;
                double mean = sum / cnt;
                for (int f = 0; f < pooled; f++)
                    for (long p = 0; p < hw; p++)
                        for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                            double dd = x[(int) (((vid * pooled + f) * hw + p) * c + ch)] - mean;
                            sq += dd * dd;
                        }
                double rstd = 1 / Math.sqrt(sq / cnt + eps);
                for (int f = 0; f < pooled; f++)
                    for (long p = 0; p < hw; p++)
                        for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
                            int idx = (int) (((vid * pooled + f) * hw + p) * c + ch);
                            double y = (x[idx] - mean) * rstd * gamma[ch] + beta[ch];
                            out[idx] = (float) (silu ? y / (1 + Math.exp(-y)) : y);
                        }
            }
        }
        return out;
    }

    static float[] layerNorm(float[] x, int c, float[] gamma, float[] beta, float eps) {
        float[] out = new float[x.length];
        for (int r = 0; r < x.length / c; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < c; i++) mean += x[r * c + i];
            mean /= c;
            for (int i = 0; i < c; i++) var += (x[r * c + i] - mean) * (x[r * c + i] - mean);
            double rstd = 1 / Math.sqrt(var / c + eps);
            for (int i = 0; i < c; i++) out[r * c + i] = (float) ((x[r * c + i] - mean) * rstd * gamma[i] + beta[i]);
        }
        return out;
    }

    /** x [n,h,w,ci], w [kh,kw,ci,co]; padTop/padLeft shift, out-of-image reads are zero. */
    static float[] conv2d(float[] x, int n, int h, int w, int ci, float[] wt, int kh, int kw, int co, float[] bias,
                          int stride, int padTop, int ho, int wo) {
        float[] out = new float[n * ho * wo * co];
        for (int img = 0; img < n; img++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int o = 0; o < co; o++) {
                        double acc = bias == null ? 0 : bias[o];
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++) {
                                int iy = oy * stride - padTop + ky, ix = ox * stride - padTop + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                for (int i = 0; i < ci; i++)
                                    acc += (double) x[((img * h + iy) * w + ix) * ci + i] * wt[((ky * kw + kx) * ci + i) * co + o];
                            }
                        out[((img * ho + oy) * wo + ox) * co + o] = (float) acc;
                    }
        return out;
    }

    static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /** erf to ~1e-15 by its Taylor series (small |x|) or continued fraction. */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (ax > 6) return Math.signum(x);
        if (ax < 2.5) {
            double sum = 0, term = ax;
            for (int k = 0; k < 100; k++) {
                sum += term / (2 * k + 1);
                term *= -ax * ax / (k + 1);
            }
            return Math.signum(x) * 2 / Math.sqrt(Math.PI) * sum;
        }
        // erfc continued fraction (Lentz) for larger |x|
        double f = ax, cc = ax, dd = 0;
        for (int k = 1; k < 200; k++) {
            double a = k / 2.0;
            dd = ax + a * dd; dd = 1 / dd;
            cc = ax + a / cc;
            f *= cc * dd;
        }
        double erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        return Math.signum(x) * (1 - erfc);
    }
}
