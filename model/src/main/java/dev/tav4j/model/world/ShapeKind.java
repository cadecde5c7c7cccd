package dev.tav4j.model.world;

import java.util.Locale;

/**
 * The world's shapes, upright, each defined in a unit box [−1, 1]² (y down) scaled by the scene's size s (pixels)
 * about its position: circle of radius 1; square of half-side 0.85; diamond with vertices at (0, ±1), (±1, 0);
 * triangle with apex (0, −0.9) and base corners (±1, 0.9); five-pointed star, outer radius 1, inner 0.45, a point up;
 * cross (plus sign) of arms 0.9 long and 0.33 half-wide.
 */
public enum ShapeKind {
    CIRCLE, SQUARE, TRIANGLE, STAR, DIAMOND, CROSS;

    public String word() { return name().toLowerCase(Locale.ROOT); }

    /** The shape named by a word ("star"), or null. */
    public static ShapeKind ofWord(String word) {
        for (ShapeKind s : values()) if (s.word().equals(word)) return s;
        return null;
    }

    /** The outline in the unit box as {x0, y0, x1, y1, …} (null for the circle, which is rasterised exactly). */
    double[] unitPolygon() {
        return switch (this) {
            case CIRCLE -> null;
            case SQUARE -> new double[]{-0.85, -0.85, 0.85, -0.85, 0.85, 0.85, -0.85, 0.85};
            case DIAMOND -> new double[]{0, -1, 1, 0, 0, 1, -1, 0};
            case TRIANGLE -> new double[]{0, -0.9, 1, 0.9, -1, 0.9};
            case STAR -> {
                double[] p = new double[20];
                for (int k = 0; k < 10; k++) {
                    double a = -StrictMath.PI / 2 + k * StrictMath.PI / 5, rad = k % 2 == 0 ? 1 : 0.45;
                    p[2 * k] = rad * StrictMath.cos(a);
                    p[2 * k + 1] = rad * StrictMath.sin(a);
                }
                yield p;
            }
            case CROSS -> {
                double a = 0.33, e = 0.9;
                yield new double[]{-a, -e, a, -e, a, -a, e, -a, e, a, a, a, a, e, -a, e, -a, a, -e, a, -e, -a, -a, -a};
            }
        };
    }
}
