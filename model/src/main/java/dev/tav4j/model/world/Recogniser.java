package dev.tav4j.model.world;

import java.util.EnumMap;
import java.util.Map;

/**
 * Names what a {@link Segmenter} found: the shape, by matching the soft mask against each of the world's shapes
 * rendered with the same area and centroid (the best soft IoU = Σ min(α, t) / Σ max(α, t) wins), and the colour, as
 * the palette colour nearest the foreground's mean interior colour in CIE Lab. Template matching rather than
 * hand-set descriptor thresholds: it uses the world's exact rasteriser, so it holds at the 8–13 pixel scales of a
 * 64×64 frame where corner counts and hulls of staircased masks blur; the shape descriptor a person reads,
 * {@link Frame#fill} (area over bounding-box area), comes along.
 */
public final class Recogniser {
    private Recogniser() {}

    /** Area and centroid of each shape in its unit box (s = 1). */
    private static final Map<ShapeKind, double[]> UNIT = new EnumMap<>(ShapeKind.class);

    static {
        for (ShapeKind k : ShapeKind.values()) {
            double[] p = k.unitPolygon();
            if (p == null) {
                UNIT.put(k, new double[]{Math.PI, 0, 0});
                continue;
            }
            double a = 0, gx = 0, gy = 0;
            int n = p.length / 2;
            for (int i = 0, j = n - 1; i < n; j = i++) {
                double cr = p[2 * j] * p[2 * i + 1] - p[2 * i] * p[2 * j + 1];
                a += cr;
                gx += (p[2 * j] + p[2 * i]) * cr;
                gy += (p[2 * j + 1] + p[2 * i + 1]) * cr;
            }
            a /= 2;
            UNIT.put(k, new double[]{Math.abs(a), gx / (6 * a), gy / (6 * a)});
        }
    }

    /**
     * What one frame shows. {@code shape}/{@code colour}: null when no foreground was found; {@code iou}: the
     * best match's soft IoU; {@code colourDeltaE}: the distance to the named palette colour; {@code fill}: the
     * mask's pixel count over its bounding box.
     */
    public record Frame(ShapeKind shape, double iou, Colour colour, double colourDeltaE, double fill, double cx, double cy) {
        public boolean found() { return shape != null; }
    }

    /** A video's recognised content: the majority shape and colour over frames, the background, and each frame. */
    public record Description(ShapeKind shape, Colour colour, Pattern pattern, Colour backgroundColour, Frame[] frames) {}

    /** Segments and recognises a video. */
    public static Description describe(WorldVideo v) {
        Segmenter.Result seg = Segmenter.segment(v);
        Frame[] f = recognise(seg);
        return new Description(shape(f), colour(f), seg.background().pattern(), seg.background().colour(), f);
    }

    /** Recognises every frame of a segmentation. */
    public static Frame[] recognise(Segmenter.Result seg) {
        Frame[] out = new Frame[seg.frames().length];
        for (int i = 0; i < out.length; i++) out[i] = recognise(seg.frames()[i], seg.video().width(), seg.video().height());
        return out;
    }

    public static Frame recognise(Segmenter.Foreground fg, int w, int h) {
        if (!fg.found()) return new Frame(null, 0, null, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        ShapeKind best = null;
        double bestIou = -1;
        for (ShapeKind k : ShapeKind.values()) {
            double iou = iou(fg, k, w, h);
            if (iou > bestIou) {
                bestIou = iou;
                best = k;
            }
        }
        double[] lab = fg.lab();
        Colour c = Colour.nearest(lab);
        return new Frame(best, bestIou, c, Lab.deltaE(lab, c.lab()), fill(fg.mask(), w, h), fg.cx(), fg.cy());
    }

    /** The soft IoU of the foreground with shape k of the same area, centred on the same centroid. */
    static double iou(Segmenter.Foreground fg, ShapeKind k, int w, int h) {
        double[] u = UNIT.get(k);
        double s = Math.sqrt(fg.area() / u[0]);
        double ox = fg.cx() - s * u[1], oy = fg.cy() - s * u[2];
        float[] t = new float[w * h];
        double[] unit = k.unitPolygon();
        if (unit == null) Raster.disc(ox, oy, s, w, h, t);
        else {
            double[] poly = new double[unit.length];
            for (int i = 0; i < unit.length; i += 2) {
                poly[i] = ox + s * unit[i];
                poly[i + 1] = oy + s * unit[i + 1];
            }
            Raster.polygon(poly, w, h, t);
        }
        float[] a = fg.alpha();
        double inter = 0, union = 0;
        for (int p = 0; p < t.length; p++) {
            inter += Math.min(a[p], t[p]);
            union += Math.max(a[p], t[p]);
        }
        return union > 0 ? inter / union : 0;
    }

    private static double fill(boolean[] mask, int w, int h) {
        int n = 0, x0 = w, y0 = h, x1 = -1, y1 = -1;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (mask[y * w + x]) {
                    n++;
                    x0 = Math.min(x0, x);
                    x1 = Math.max(x1, x);
                    y0 = Math.min(y0, y);
                    y1 = Math.max(y1, y);
                }
        return n == 0 ? Double.NaN : n / (double) ((x1 - x0 + 1) * (y1 - y0 + 1));
    }

    /** The most frequent value among the frames' (ties: the earliest enum constant), or null when no frame has one. */
    static <E extends Enum<E>> E majority(E[] values, Class<E> type) {
        Map<E, Integer> counts = new EnumMap<>(type);
        for (E v : values) if (v != null) counts.merge(v, 1, Integer::sum);
        E best = null;
        int bc = 0;
        for (Map.Entry<E, Integer> e : counts.entrySet())
            if (e.getValue() > bc) {
                bc = e.getValue();
                best = e.getKey();
            }
        return best;
    }

    /** The video's shape: the majority over the frames where one was found. */
    public static ShapeKind shape(Frame[] frames) {
        ShapeKind[] v = new ShapeKind[frames.length];
        for (int i = 0; i < v.length; i++) v[i] = frames[i].shape();
        return majority(v, ShapeKind.class);
    }

    /** The video's colour: the majority over the frames where one was found. */
    public static Colour colour(Frame[] frames) {
        Colour[] v = new Colour[frames.length];
        for (int i = 0; i < v.length; i++) v[i] = frames[i].colour();
        return majority(v, Colour.class);
    }
}
