package dev.tav4j.kernels.cpu;

/** erf in double to ~1e-15 (series near 0, continued fraction of erfc elsewhere), for references and scalar paths. */
final class Erf {
    private Erf() {}

    static double erf(double x) {
        double z = Math.abs(x);
        double r;
        if (z < 2.5) {
            // Maclaurin series: erf z = 2/√π Σ (−1)^n z^(2n+1) / (n! (2n+1))
            double term = z, sum = z, z2 = z * z;
            for (int n = 1; n < 200; n++) {
                term *= -z2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            // erfc z = exp(−z²)/√π · 1/(z + 1/2/(z + 1/(z + 3/2/(z + ...)))) (Lentz, from the tail)
            double f = z;
            for (int n = 60; n >= 1; n--) f = z + (n / 2.0) / f;
            r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }
}
