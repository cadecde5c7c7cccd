package dev.tav4j.model.world;

/**
 * CIE L*a*b* (D65) from sRGB in [0, 1], and the CIE76 colour difference ΔE*ab (the Euclidean distance in Lab): the
 * perceptual space in which the world's colours are told apart. StrictMath keeps the bits the same everywhere.
 */
public final class Lab {
    private Lab() {}

    private static final double XN = 0.95047, YN = 1.0, ZN = 1.08883;

    /** sRGB (gamma-encoded, each in [0, 1]) → {L, a, b}. */
    public static double[] fromSrgb(double r, double g, double b) {
        double[] out = new double[3];
        fromSrgb(r, g, b, out, 0);
        return out;
    }

    /** Writes {L, a, b} of an sRGB colour at {@code out[o..o+2]}. */
    public static void fromSrgb(double r, double g, double b, double[] out, int o) {
        double lr = linear(r), lg = linear(g), lb = linear(b);
        double x = 0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb;
        double y = 0.2126729 * lr + 0.7151522 * lg + 0.0721750 * lb;
        double z = 0.0193339 * lr + 0.1191920 * lg + 0.9503041 * lb;
        double fx = f(x / XN), fy = f(y / YN), fz = f(z / ZN);
        out[o] = 116 * fy - 16;
        out[o + 1] = 500 * (fx - fy);
        out[o + 2] = 200 * (fy - fz);
    }

    /** CIE76 ΔE between two Lab colours. */
    public static double deltaE(double[] p, double[] q) {
        return deltaE(p, 0, q, 0);
    }

    public static double deltaE(double[] p, int po, double[] q, int qo) {
        double dl = p[po] - q[qo], da = p[po + 1] - q[qo + 1], db = p[po + 2] - q[qo + 2];
        return Math.sqrt(dl * dl + da * da + db * db);
    }

    private static double linear(double c) {
        c = Math.max(0, Math.min(1, c));
        return c <= 0.04045 ? c / 12.92 : StrictMath.pow((c + 0.055) / 1.055, 2.4);
    }

    private static double f(double t) {
        final double d = 6.0 / 29;
        return t > d * d * d ? StrictMath.cbrt(t) : t / (3 * d * d) + 4.0 / 29;
    }
}
