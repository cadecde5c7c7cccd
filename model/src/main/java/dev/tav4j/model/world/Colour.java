package dev.tav4j.model.world;

import java.util.Locale;

/**
 * The world's palette: nine colours whose names SD's text encoder knows, pairwise at least 45 ΔE*ab apart but blue and
 * purple (26). The same names colour shapes and backgrounds; recognition maps a measured colour to the nearest of them
 * in Lab.
 */
public enum Colour {
    RED(215, 40, 40),
    ORANGE(245, 140, 20),
    YELLOW(240, 215, 35),
    GREEN(40, 160, 60),
    BLUE(35, 75, 210),
    PURPLE(130, 55, 180),
    PINK(245, 130, 190),
    WHITE(240, 240, 240),
    BLACK(30, 30, 30);

    private final int r, g, b;
    private final double[] lab;

    Colour(int r, int g, int b) {
        this.r = r;
        this.g = g;
        this.b = b;
        this.lab = Lab.fromSrgb(r / 255.0, g / 255.0, b / 255.0);
    }

    /** The word in captions ("red"). */
    public String word() { return name().toLowerCase(Locale.ROOT); }

    /** sRGB in [0, 1]: {r, g, b}. */
    public double[] rgb() { return new double[]{r / 255.0, g / 255.0, b / 255.0}; }

    /** 0xRRGGBB. */
    public int rgb24() { return r << 16 | g << 8 | b; }

    public double[] lab() { return lab.clone(); }

    /**
     * The colour mixed towards black (k &lt; 0) or white (k &gt; 0) by |k|·{@value #SHADE_MIX} in sRGB: the shades a
     * gradient or striped background of this colour spans (k in [−1, 1]).
     */
    public double[] shade(double k) {
        double[] c = rgb();
        double m = Math.abs(k) * SHADE_MIX, target = k < 0 ? 0 : 1;
        for (int i = 0; i < 3; i++) c[i] = c[i] + (target - c[i]) * m;
        return c;
    }

    /** How far the extreme shades of a background go towards black or white. */
    public static final double SHADE_MIX = 0.3;

    /** The minimum ΔE*ab between a shape's colour and every shade of its background (see {@link #contrasts}). */
    public static final double MIN_CONTRAST = 30;

    /**
     * Whether a shape of colour {@code fg} may stand on a background of colour {@code bg}: at least
     * {@link #MIN_CONTRAST} ΔE*ab from each of its shades (k = −1, −0.9, …, 1). Excludes equal colours and a few
     * close pairs (see docs/world.md).
     */
    public static boolean contrasts(Colour fg, Colour bg) {
        double[] lab = new double[3];
        for (int i = -10; i <= 10; i++) {
            double[] s = bg.shade(i / 10.0);
            Lab.fromSrgb(s[0], s[1], s[2], lab, 0);
            if (Lab.deltaE(fg.lab, lab) < MIN_CONTRAST) return false;
        }
        return true;
    }

    /** The palette colour nearest to a Lab colour (CIE76). */
    public static Colour nearest(double[] lab) {
        Colour best = null;
        double bd = Double.POSITIVE_INFINITY;
        for (Colour c : values()) {
            double d = Lab.deltaE(c.lab, lab);
            if (d < bd) {
                bd = d;
                best = c;
            }
        }
        return best;
    }

    /** The colour named by a word ("red"), or null. */
    public static Colour ofWord(String word) {
        for (Colour c : values()) if (c.word().equals(word)) return c;
        return null;
    }
}
