package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Tensor;

/** Central finite differences in double of L(x) = Σ r ⊙ f(x), the reference every backward test holds the kernels to. */
final class CpuGradCheck {
    private CpuGradCheck() {}

    /** A function of one input in double. */
    @FunctionalInterface
    interface Fn {
        double[] apply(double[] x);
    }

    /** ∂/∂x Σ r ⊙ f(x), by central differences with step h. */
    static double[] grad(Fn f, double[] x, double[] r, double h) {
        double[] g = new double[x.length];
        double[] xx = x.clone();
        for (int i = 0; i < x.length; i++) {
            xx[i] = x[i] + h;
            double up = dot(r, f.apply(xx));
            xx[i] = x[i] - h;
            double down = dot(r, f.apply(xx));
            xx[i] = x[i];
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }

    static double[] grad(Fn f, double[] x, double[] r) {
        return grad(f, x, r, 1e-5);
    }

    static double dot(double[] a, double[] b) {
        if (a.length != b.length) throw new IllegalArgumentException(a.length + " vs " + b.length);
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    static double[] d(Tensor t) {
        return TestData.d(t);
    }

    static double[] plus(double[] a, double[] b) {
        double[] r = a.clone();
        for (int i = 0; i < r.length; i++) r[i] += b[i];
        return r;
    }
}
