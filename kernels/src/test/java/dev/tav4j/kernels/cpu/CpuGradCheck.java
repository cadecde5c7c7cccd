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

    /**
     * ∂L/∂p by central differences of a float forward: each element of p moved by ±h (the float steps actually
     * taken are divided by), L re-evaluated, p restored.
     */
    static double[] grad(Tensor p, double h, java.util.function.DoubleSupplier loss) {
        double[] g = new double[Math.toIntExact(p.size())];
        for (int i = 0; i < g.length; i++) {
            float v = p.get(i), up = (float) (v + h), down = (float) (v - h);
            p.set(i, up);
            double lu = loss.getAsDouble();
            p.set(i, down);
            double ld = loss.getAsDouble();
            p.set(i, v);
            g[i] = (lu - ld) / ((double) up - down);
        }
        return g;
    }

    /** Σ r ⊙ t in double. */
    static double dot(double[] r, Tensor t) {
        double s = 0;
        for (int i = 0; i < r.length; i++) s += r[i] * t.get(i);
        return s;
    }

    /** a − b element-wise. */
    static double[] minus(double[] a, double[] b) {
        double[] r = a.clone();
        for (int i = 0; i < r.length; i++) r[i] -= b[i];
        return r;
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
