package dev.tav4j.model.golden;

import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Assertions;

import java.util.Arrays;
import java.util.Locale;

/**
 * Compares computed tensors with golden references and prints one line per tensor. The error of a forward
 * tensor is max|got − ref| / max|ref| (the measure of docs/semantics.md); tuned parameters use the fraction of elements
 * further than an absolute tolerance.
 */
public final class Parity {
    /** docs/semantics.md: tuned parameters within 5e-6 absolute on all but 0.1 % of elements. */
    public static final double PARAM_ABS = 5e-6, PARAM_FRACTION = 1e-3;

    private Parity() {}

    /** max|got − ref| / max|ref| (max|got − ref| when ref is all zeros); NaN when got holds a NaN or infinity. */
    public static double relErr(Tensor got, Tensor ref) {
        requireSameShape("", got, ref);
        return relErr(got.toArray(), ref.toArray());
    }

    public static double relErr(float[] got, float[] ref) {
        if (got.length != ref.length) throw new IllegalArgumentException(got.length + " values vs " + ref.length + " reference values");
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < got.length; i++) {
            if (!Float.isFinite(got[i])) return Double.NaN;
            maxDiff = Math.max(maxDiff, Math.abs((double) got[i] - ref[i]));
            maxRef = Math.max(maxRef, Math.abs((double) ref[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    /** Prints {@code label  rel-err E  (tol T)  ok|FAIL} and asserts rel-err ≤ tol; returns the error. */
    public static double check(String label, Tensor got, Tensor ref, double tol) {
        requireSameShape(label, got, ref);
        double e = relErr(got.toArray(), ref.toArray());
        boolean ok = e <= tol; // false for NaN
        System.out.println(String.format(Locale.ROOT, "%s  rel-err %.1e  (tol %s)  %s", label, e, compact(tol), ok ? "ok" : "FAIL"));
        Assertions.assertTrue(ok, () -> String.format(Locale.ROOT, "%s: rel-err %.3e exceeds %.1e%s", label, e, tol,
                Double.isNaN(e) ? " (non-finite values computed)" : ""));
        return e;
    }

    /** Elements of {@code got} further than {@code abs} from {@code ref} (non-finite values count as outside). */
    public static long countOutside(Tensor got, Tensor ref, double abs) {
        requireSameShape("", got, ref);
        float[] g = got.toArray(), r = ref.toArray();
        long n = 0;
        for (int i = 0; i < g.length; i++) if (!(Math.abs((double) g[i] - r[i]) <= abs)) n++;
        return n;
    }

    /** Asserts that all but {@code fraction} of the elements are within {@code abs}; prints one line. */
    public static void checkWithin(String label, Tensor got, Tensor ref, double abs, double fraction) {
        Tally t = new Tally(label, abs, fraction);
        t.add(label, got, ref);
        t.check();
    }

    /** Accumulates the within-absolute rule over many tensors (e.g. every tuned parameter), checked once at the end. */
    public static final class Tally {
        private final String label;
        private final double abs, fraction;
        private long outside, total;
        private double worst;
        private String worstName = "-";

        public Tally(String label, double abs, double fraction) {
            this.label = label;
            this.abs = abs;
            this.fraction = fraction;
        }

        /** The rule for tuned parameters (docs/semantics.md). */
        public static Tally params(String label) { return new Tally(label, PARAM_ABS, PARAM_FRACTION); }

        public Tally add(String name, Tensor got, Tensor ref) {
            requireSameShape(name, got, ref);
            float[] g = got.toArray(), r = ref.toArray();
            for (int i = 0; i < g.length; i++) {
                double d = Math.abs((double) g[i] - r[i]);
                if (!(d <= abs)) outside++;
                if (!(d <= worst)) { worst = Float.isFinite(g[i]) ? d : Double.POSITIVE_INFINITY; worstName = name; }
            }
            total += g.length;
            return this;
        }

        public long outside() { return outside; }

        public long total() { return total; }

        public void check() {
            boolean ok = total > 0 && outside <= fraction * total;
            System.out.println(String.format(Locale.ROOT, "%s  outside %s abs: %d of %d (%.3f %%, allowed %.1f %%), max abs-err %.1e in %s  %s",
                    label, compact(abs), outside, total, total == 0 ? 0 : 100.0 * outside / total, 100 * fraction, worst, worstName,
                    ok ? "ok" : "FAIL"));
            Assertions.assertTrue(total > 0, label + ": nothing compared");
            Assertions.assertTrue(ok, () -> String.format(Locale.ROOT, "%s: %d of %d elements further than %.0e from the reference (allowed %.1f %%); worst %.3e in %s",
                    label, outside, total, abs, 100 * fraction, worst, worstName));
        }
    }

    /** 1e-4 rather than 1e-04. */
    static String compact(double v) {
        return String.format(Locale.ROOT, "%.0e", v).replaceAll("e([+-])0*(\\d)", "e$1$2").replace("e+", "e");
    }

    private static void requireSameShape(String label, Tensor got, Tensor ref) {
        if (!Arrays.equals(got.shape(), ref.shape()))
            Assertions.fail(label + ": shape " + Arrays.toString(got.shape()) + " does not match the reference " + Arrays.toString(ref.shape()));
    }
}
