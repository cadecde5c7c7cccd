package dev.tav4j.model.world;

/**
 * Edit quality in the world, without CLIP: the edited video's foreground recognised against the edit prompt, its
 * trajectory against the source's, the flicker of its background, and the PSNR of an inversion's reconstruction.
 * Definitions (docs/world.md has them with their measured accuracy):
 * <ul>
 * <li>edit accuracy: the fraction of frames whose recognised shape and colour both equal the prompt's (an attribute
 *     the prompt does not name always agrees; a frame without foreground never does);</li>
 * <li>motion fidelity: 1 − mean over frames of min(1, ‖c_edit − c_source‖ / max(W, H)), c the foreground centroid;
 *     a frame where the edit has no foreground counts 1 (frames where the source has none are skipped);</li>
 * <li>background consistency: 1 − flicker, flicker = mean over consecutive frame pairs of the mean |ΔRGB| (values
 *     in [0, 1]) over the pixels that are background in both frames (two pixels away from either foreground);</li>
 * <li>reconstruction PSNR: 10·log10(1 / MSE) over all values in [0, 1] (+∞ when identical).</li>
 * </ul>
 */
public final class WorldMetrics {
    /** Pixels around the foreground that the flicker ignores (edges, shadows of the edit). */
    public static final int FLICKER_MARGIN = 2;

    private WorldMetrics() {}

    /**
     * Scores of one edited video. Accuracies are NaN when the prompt names no such attribute; the background's
     * accuracy needs its colour and pattern; {@code psnr} is NaN without a reconstruction. The recognised video-level
     * attributes (majority over frames) come along.
     */
    public record Scores(int frames, double editAccuracy, double shapeAccuracy, double colourAccuracy, double backgroundAccuracy,
                         double motionFidelity, double backgroundConsistency, double backgroundFlicker, double psnr,
                         ShapeKind shape, Colour colour, Pattern backgroundPattern, Colour backgroundColour) {}

    /** The scores of {@code edited} against the source video and the edit prompt (reconstruction may be null). */
    public static Scores evaluate(WorldVideo source, WorldVideo edited, String prompt, WorldVideo reconstruction) {
        return evaluate(centroids(Segmenter.segment(source)), source, edited, prompt, reconstruction);
    }

    /** As {@link #evaluate(WorldVideo, WorldVideo, String, WorldVideo)}, with the source's ground-truth centroids. */
    public static Scores evaluate(Sample source, WorldVideo edited, String prompt, WorldVideo reconstruction) {
        return evaluate(source.centroids(), source.video(), edited, prompt, reconstruction);
    }

    private static Scores evaluate(double[][] sourceCentroids, WorldVideo source, WorldVideo edited, String prompt, WorldVideo reconstruction) {
        sameShape(source, edited, "edited");
        WorldPrompt want = WorldPrompt.parse(prompt);
        Segmenter.Result seg = Segmenter.segment(edited);
        Recogniser.Frame[] rec = Recogniser.recognise(seg);
        int n = rec.length, both = 0, shapeOk = 0, colourOk = 0;
        for (Recogniser.Frame r : rec) {
            boolean s = r.found() && (want.shape() == null || r.shape() == want.shape());
            boolean c = r.found() && (want.colour() == null || r.colour() == want.colour());
            if (s) shapeOk++;
            if (c) colourOk++;
            if (s && c) both++;
        }
        Pattern pattern = seg.background().pattern();
        Colour bgColour = seg.background().colour();
        double bgAcc = want.backgroundColour() == null ? Double.NaN
                : (bgColour == want.backgroundColour() && (want.pattern() == null || pattern == want.pattern()) ? 1 : 0);
        double flicker = flicker(seg);
        return new Scores(n, (double) both / n, want.shape() == null ? Double.NaN : (double) shapeOk / n,
                want.colour() == null ? Double.NaN : (double) colourOk / n, bgAcc,
                motionFidelity(sourceCentroids, centroids(seg), edited.width(), edited.height()), 1 - flicker, flicker,
                reconstruction == null ? Double.NaN : psnr(source, reconstruction),
                Recogniser.shape(rec), Recogniser.colour(rec), pattern, bgColour);
    }

    /** The foreground centroid per frame ({NaN, NaN} where none was found). */
    public static double[][] centroids(Segmenter.Result seg) {
        double[][] c = new double[seg.frames().length][];
        for (int i = 0; i < c.length; i++) c[i] = new double[]{seg.frames()[i].cx(), seg.frames()[i].cy()};
        return c;
    }

    /** 1 − mean over frames of min(1, distance / max(w, h)); NaN when the source has no foreground in any frame. */
    public static double motionFidelity(double[][] source, double[][] edited, int w, int h) {
        if (source.length != edited.length)
            throw new IllegalArgumentException("the source has " + source.length + " frames, the edit " + edited.length);
        double size = Math.max(w, h), sum = 0;
        int n = 0;
        for (int i = 0; i < source.length; i++) {
            if (Double.isNaN(source[i][0])) continue;
            double d = Double.isNaN(edited[i][0]) ? 1 : Math.min(1, Math.hypot(edited[i][0] - source[i][0], edited[i][1] - source[i][1]) / size);
            sum += d;
            n++;
        }
        return n == 0 ? Double.NaN : 1 - sum / n;
    }

    /** Mean over consecutive frame pairs of the mean |ΔRGB| over pixels that are background in both; 0 for one frame. */
    public static double flicker(Segmenter.Result seg) {
        WorldVideo v = seg.video();
        int f = v.frames(), hw = v.height() * v.width();
        if (f < 2) return 0;
        float[] rgb = v.rgb();
        double total = 0;
        int pairs = 0;
        boolean[] prev = seg.backgroundMask(0, FLICKER_MARGIN);
        for (int i = 1; i < f; i++) {
            boolean[] cur = seg.backgroundMask(i, FLICKER_MARGIN);
            double sum = 0;
            long n = 0;
            for (int p = 0; p < hw; p++) {
                if (!prev[p] || !cur[p]) continue;
                int a = ((i - 1) * hw + p) * 3, b = (i * hw + p) * 3;
                for (int c = 0; c < 3; c++) sum += Math.abs(rgb[b + c] - rgb[a + c]);
                n += 3;
            }
            if (n > 0) {
                total += sum / n;
                pairs++;
            }
            prev = cur;
        }
        return pairs == 0 ? 0 : total / pairs;
    }

    /** PSNR in dB of {@code b} against {@code a}, values in [0, 1] (peak 1); +∞ when equal. */
    public static double psnr(WorldVideo a, WorldVideo b) {
        sameShape(a, b, "reconstruction");
        float[] x = a.rgb(), y = b.rgb();
        double se = 0;
        for (int i = 0; i < x.length; i++) {
            double d = (double) x[i] - y[i];
            se += d * d;
        }
        double mse = se / x.length;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(1 / mse);
    }

    private static void sameShape(WorldVideo a, WorldVideo b, String what) {
        if (a.frames() != b.frames() || a.height() != b.height() || a.width() != b.width())
            throw new IllegalArgumentException("the " + what + " is " + b.frames() + " frames of " + b.width() + "x" + b.height()
                    + ", the source " + a.frames() + " frames of " + a.width() + "x" + a.height());
    }
}
