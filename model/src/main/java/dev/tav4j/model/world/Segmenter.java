package dev.tav4j.model.world;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * Finds the foreground shape in each frame of a world video by its difference from the estimated background.
 *
 * <p>Background: every family of the world is constant along rows (plain, gradients and stripes that vary down the
 * frame) or along columns (those that vary across it). Two models are fitted: the per-channel median of each row over
 * all frames, and of each column; the one with the smaller truncated residual (mean of min(ΔE, 20) over all pixels)
 * wins. A shape covers under half of any row or column (its box is at most 40 % of the frame), so the medians are
 * background; a second pass takes them again without the pixels found as foreground (grown by two), which noise
 * would otherwise drag towards the shape's colour where the shape stays in the same rows or columns.
 *
 * <p>Foreground, per frame: d = ΔE*ab between each pixel of the frame smoothed by a 3×3 box and its background; the
 * largest 8-connected component of d &gt; {@value #MIN_DELTA_E}; then the threshold moves to half the component's
 * median d (so the mask holds the pixels at least about half covered, whatever the contrast) and the largest
 * component of that is the mask. Its colour is the per-channel median of its interior pixels (all four neighbours in
 * the mask) as they are, unsmoothed. The soft mask (alpha) inverts the world's compositing p = B·(1 − α) + F·α by
 * projecting p − B on F − B, over the mask grown by one pixel.
 */
public final class Segmenter {
    /** The ΔE*ab below which a pixel is background whatever else. */
    public static final double MIN_DELTA_E = 10;
    /** Components smaller than this (pixels) are no foreground. */
    public static final int MIN_PIXELS = 4;
    private static final double RESIDUAL_CAP = 20;
    /** Below this {@link BackgroundEstimate#spread} a background is plain. */
    public static final double PLAIN_SPREAD = 5;

    private Segmenter() {}

    /** The estimated background: a colour per row ({@code alongY}) or per column. */
    public record BackgroundEstimate(boolean alongY, float[][] profile, double[][] profileLab, double residual) {
        /** The background colour (sRGB [0, 1]) at pixel (x, y). */
        public float[] at(int x, int y) { return profile[alongY ? y : x]; }

        public double[] labAt(int x, int y) { return profileLab[alongY ? y : x]; }

        /**
         * The pattern, from the profile: PLAIN when every line is within 5 ΔE of the mean colour; else STRIPES when the
         * lightness turns (rises then falls or back) at least twice, counting only steps from one line to the next over
         * 30 % of the profile's L* range (and over 2): stripes jump by their whole contrast at each edge, a gradient
         * creeps; else GRADIENT.
         */
        public Pattern pattern() {
            if (spread() < PLAIN_SPREAD) return Pattern.PLAIN;
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (double[] l : profileLab) {
                lo = Math.min(lo, l[0]);
                hi = Math.max(hi, l[0]);
            }
            double step = Math.max(2, 0.3 * (hi - lo));
            int turns = 0, last = 0;
            for (int i = 1; i < profileLab.length; i++) {
                double dl = profileLab[i][0] - profileLab[i - 1][0];
                if (Math.abs(dl) <= step) continue;
                int sign = dl > 0 ? 1 : -1;
                if (last != 0 && sign != last) turns++;
                last = sign;
            }
            return turns >= 2 ? Pattern.STRIPES : Pattern.GRADIENT;
        }

        /** The 75th percentile over lines of the ΔE*ab between a line's colour and the mean: how far from plain. */
        public double spread() {
            double[] mean = meanLab(), dev = new double[profileLab.length];
            for (int i = 0; i < dev.length; i++) dev[i] = Lab.deltaE(profileLab[i], mean);
            Arrays.sort(dev);
            return dev[(int) Math.floor(0.75 * (dev.length - 1))];
        }

        /** The palette colour nearest the mean Lab of the profile. */
        public Colour colour() { return Colour.nearest(meanLab()); }

        public double[] meanLab() {
            double[] m = new double[3];
            for (double[] l : profileLab)
                for (int c = 0; c < 3; c++) m[c] += l[c] / profileLab.length;
            return m;
        }
    }

    /**
     * The foreground of one frame. {@code found}: a component was found (else the rest is empty or NaN);
     * {@code mask}: its pixels; {@code alpha}: the soft mask; {@code area}: Σ alpha; {@code cx, cy}: the
     * alpha-weighted centroid (pixel centres at i + 0.5); {@code rgb}: its mean interior colour; {@code contrast}:
     * the component's median ΔE from the background.
     */
    public record Foreground(boolean found, boolean[] mask, float[] alpha, double area, double cx, double cy, double[] rgb, double contrast) {
        public double[] lab() { return Lab.fromSrgb(rgb[0], rgb[1], rgb[2]); }
    }

    public record Result(WorldVideo video, BackgroundEstimate background, Foreground[] frames) {
        /** The frame's background mask: neither its foreground nor any pixel within {@code grow} pixels of it. */
        public boolean[] backgroundMask(int frame, int grow) {
            int w = video.width(), h = video.height();
            boolean[] fg = frames[frame].mask();
            boolean[] grown = fg;
            for (int i = 0; i < grow; i++) grown = dilate(grown, w, h);
            boolean[] bg = new boolean[w * h];
            for (int p = 0; p < bg.length; p++) bg[p] = !grown[p];
            return bg;
        }
    }

    public static Result segment(WorldVideo v) {
        int f = v.frames(), h = v.height(), w = v.width(), hw = h * w;
        float[] rgb = v.rgb();
        double[] lab = new double[rgb.length];
        for (int p = 0; p < f * hw; p++) Lab.fromSrgb(rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], lab, 3 * p);
        boolean[][] none = new boolean[f][hw];
        BackgroundEstimate bg = fit(v, lab, none);
        Foreground[] out = new Foreground[f];
        for (int i = 0; i < f; i++) out[i] = foreground(v, bg, i);
        // second pass: the medians again without the foreground found (and a margin), which noise would otherwise drag
        boolean[][] exclude = new boolean[f][];
        for (int i = 0; i < f; i++) exclude[i] = dilate(dilate(out[i].mask(), w, h), w, h);
        bg = fit(v, lab, exclude);
        for (int i = 0; i < f; i++) out[i] = foreground(v, bg, i);
        return new Result(v, bg, out);
    }

    /** The better of the row and the column model, the medians taken over the pixels not excluded. */
    private static BackgroundEstimate fit(WorldVideo v, double[] lab, boolean[][] exclude) {
        BackgroundEstimate rows = fit(v, lab, true, exclude), cols = fit(v, lab, false, exclude);
        return cols.residual() < rows.residual() ? cols : rows;
    }

    private static BackgroundEstimate fit(WorldVideo v, double[] lab, boolean alongY, boolean[][] exclude) {
        int f = v.frames(), h = v.height(), w = v.width();
        int len = alongY ? h : w, across = alongY ? w : h;
        float[] rgb = v.rgb();
        float[][] profile = new float[len][3];
        double[][] plab = new double[len][3];
        float[] buf = new float[f * across];
        for (int line = 0; line < len; line++) {
            for (int c = 0; c < 3; c++) {
                int n = 0;
                for (int pass = 0; pass < 2 && n == 0; pass++) // a line all excluded: its median over everything
                    for (int i = 0; i < f; i++)
                        for (int k = 0; k < across; k++) {
                            int x = alongY ? k : line, y = alongY ? line : k;
                            if (pass == 0 && exclude[i][y * w + x]) continue;
                            buf[n++] = rgb[((i * h + y) * w + x) * 3 + c];
                        }
                Arrays.sort(buf, 0, n);
                profile[line][c] = n % 2 == 1 ? buf[n / 2] : (buf[n / 2 - 1] + buf[n / 2]) / 2;
            }
            Lab.fromSrgb(profile[line][0], profile[line][1], profile[line][2], plab[line], 0);
        }
        double res = 0;
        for (int i = 0; i < f; i++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    res += Math.min(RESIDUAL_CAP, Lab.deltaE(lab, ((i * h + y) * w + x) * 3, plab[alongY ? y : x], 0));
        return new BackgroundEstimate(alongY, profile, plab, res / ((double) f * h * w));
    }

    private static Foreground foreground(WorldVideo v, BackgroundEstimate bg, int frame) {
        int h = v.height(), w = v.width(), hw = h * w, base = frame * hw;
        float[] rgb = v.rgb();
        float[] smooth = boxBlur(rgb, base * 3, w, h);
        double[] d = new double[hw], px = new double[3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int p = y * w + x;
                Lab.fromSrgb(smooth[3 * p], smooth[3 * p + 1], smooth[3 * p + 2], px, 0);
                d[p] = Lab.deltaE(px, bg.labAt(x, y));
            }
        boolean[] comp = largestComponent(d, MIN_DELTA_E, w, h);
        if (comp == null) return notFound(hw);
        double level = median(d, comp);
        comp = largestComponent(d, Math.max(MIN_DELTA_E, level / 2), w, h);
        if (comp == null) return notFound(hw);
        double[] fg = new double[3];
        float[][] inner = new float[3][hw];
        int n = 0;
        for (int pass = 0; pass < 2 && n == 0; pass++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int p = y * w + x;
                    if (!comp[p]) continue;
                    boolean interior = x > 0 && x < w - 1 && y > 0 && y < h - 1 && comp[p - 1] && comp[p + 1] && comp[p - w] && comp[p + w];
                    if (pass == 0 && !interior) continue;
                    for (int c = 0; c < 3; c++) inner[c][n] = rgb[(base + p) * 3 + c];
                    n++;
                }
        for (int c = 0; c < 3; c++) {
            Arrays.sort(inner[c], 0, n);
            fg[c] = n % 2 == 1 ? inner[c][n / 2] : (inner[c][n / 2 - 1] + inner[c][n / 2]) / 2.0;
        }
        boolean[] near = dilate(comp, w, h);
        float[] alpha = new float[hw];
        double area = 0, sx = 0, sy = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int p = y * w + x;
                if (!near[p]) continue;
                float[] b = bg.at(x, y);
                double num = 0, den = 0;
                for (int c = 0; c < 3; c++) {
                    double e = fg[c] - b[c];
                    num += (rgb[(base + p) * 3 + c] - b[c]) * e;
                    den += e * e;
                }
                double a = den > 1e-9 ? Math.max(0, Math.min(1, num / den)) : (comp[p] ? 1 : 0);
                alpha[p] = (float) a;
                area += a;
                sx += a * (x + 0.5);
                sy += a * (y + 0.5);
            }
        if (area <= 0) return notFound(hw);
        return new Foreground(true, comp, alpha, area, sx / area, sy / area, fg, level);
    }

    private static Foreground notFound(int hw) {
        return new Foreground(false, new boolean[hw], new float[hw], 0, Double.NaN, Double.NaN, new double[]{Double.NaN, Double.NaN, Double.NaN}, 0);
    }

    private static double median(double[] d, boolean[] mask) {
        int n = 0;
        for (boolean m : mask) if (m) n++;
        double[] v = new double[n];
        n = 0;
        for (int p = 0; p < d.length; p++) if (mask[p]) v[n++] = d[p];
        Arrays.sort(v);
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** The largest 8-connected component of d &gt; threshold (ties: the first found in raster order), or null if under MIN_PIXELS. */
    static boolean[] largestComponent(double[] d, double threshold, int w, int h) {
        int[] label = new int[w * h];
        int best = 0, bestSize = 0, next = 0;
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        for (int start = 0; start < d.length; start++) {
            if (label[start] != 0 || !(d[start] > threshold)) continue;
            int id = ++next, size = 0;
            label[start] = id;
            queue.add(start);
            while (!queue.isEmpty()) {
                int p = queue.poll(), x = p % w, y = p / w;
                size++;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int nx = x + dx, ny = y + dy;
                        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
                        int q = ny * w + nx;
                        if (label[q] == 0 && d[q] > threshold) {
                            label[q] = id;
                            queue.add(q);
                        }
                    }
            }
            if (size > bestSize) {
                bestSize = size;
                best = id;
            }
        }
        if (bestSize < MIN_PIXELS) return null;
        boolean[] m = new boolean[w * h];
        for (int p = 0; p < m.length; p++) m[p] = label[p] == best;
        return m;
    }

    /** The 3×3 mean (of the neighbours inside the frame) of frame at {@code offset}: RGB row-major w×h. */
    static float[] boxBlur(float[] rgb, int offset, int w, int h) {
        float[] out = new float[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double r = 0, g = 0, b = 0;
                int n = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int nx = x + dx, ny = y + dy;
                        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
                        int o = offset + (ny * w + nx) * 3;
                        r += rgb[o];
                        g += rgb[o + 1];
                        b += rgb[o + 2];
                        n++;
                    }
                int o = (y * w + x) * 3;
                out[o] = (float) (r / n);
                out[o + 1] = (float) (g / n);
                out[o + 2] = (float) (b / n);
            }
        return out;
    }

    /** The mask grown by one pixel (3×3). */
    static boolean[] dilate(boolean[] m, int w, int h) {
        boolean[] out = new boolean[m.length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                if (!m[y * w + x]) continue;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int nx = x + dx, ny = y + dy;
                        if (nx >= 0 && ny >= 0 && nx < w && ny < h) out[ny * w + nx] = true;
                    }
            }
        return out;
    }
}
