package dev.tav4j.model.world;

/**
 * A background: its pattern and colour, and the pattern's free parameters. {@code alongY}: whether a gradient or the
 * stripes vary down the frame (constant along each row) rather than across it (constant along each column);
 * {@code flip}: a gradient runs light to dark instead of dark to light; {@code periods}: stripe periods across the
 * frame (3–5), {@code phase} their offset in periods [0, 1). Plain backgrounds ignore all four.
 */
public record Background(Pattern pattern, Colour colour, boolean alongY, boolean flip, int periods, double phase) {
    /** The darker and lighter shade of stripes (see {@link Colour#shade}). */
    static final double STRIPE_SHADE = 0.6;

    /** "a blue striped background". */
    public String phrase() {
        return Scene.article(colour.word()) + " " + colour.word() + " " + pattern.adjective() + "background";
    }

    /** Renders the background into rgb (row-major w×h×3, [0, 1]); exact area averages of the pattern per pixel. */
    void render(int w, int h, float[] rgb, int offset) {
        int len = alongY ? h : w;
        double[][] line = new double[len][];
        for (int i = 0; i < len; i++) line[i] = at(i, len);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double[] c = line[alongY ? y : x];
                int o = offset + (y * w + x) * 3;
                rgb[o] = (float) c[0];
                rgb[o + 1] = (float) c[1];
                rgb[o + 2] = (float) c[2];
            }
    }

    /** The colour of pixel line i of len (a row when alongY, else a column). */
    double[] at(int i, int len) {
        return switch (pattern) {
            case PLAIN -> colour.rgb();
            case GRADIENT -> {
                double u = (i + 0.5) / len, k = flip ? 1 - 2 * u : 2 * u - 1;
                yield colour.shade(k);
            }
            case STRIPES -> {
                double period = (double) len / periods, off = phase * period;
                double light = (lightLength(i + 1 + off, period) - lightLength(i + off, period));
                double[] d = colour.shade(-STRIPE_SHADE), l = colour.shade(STRIPE_SHADE);
                yield new double[]{d[0] + (l[0] - d[0]) * light, d[1] + (l[1] - d[1]) * light, d[2] + (l[2] - d[2]) * light};
            }
        };
    }

    /** The length of the light bands in [0, u]: each period is light for its first half. */
    private static double lightLength(double u, double period) {
        double k = Math.floor(u / period);
        return k * period / 2 + Math.min(u - k * period, period / 2);
    }
}
