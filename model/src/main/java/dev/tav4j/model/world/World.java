package dev.tav4j.model.world;

/**
 * The procedural world: scenes of a {@link ShapeKind} in a {@link Colour} on a {@link Background}, moving by a
 * {@link Motion}, rendered with exact area coverage (no AWT, no platform antialiasing) into frames of
 * {@code width}×{@code height}; one frame is a still image. Everything derives from (seed, index) through
 * {@link Rng} with integer arithmetic and IEEE/StrictMath doubles, so the same seed gives the same pixels on any
 * machine. See docs/world.md for the grammar and the held-out rule ({@link Split}).
 */
public final class World {
    /** Default frame size and clip length: 64×64 (8×8 latents for an SD VAE), 8 frames. */
    public static final int DEFAULT_SIZE = 64, DEFAULT_FRAMES = 8;
    /** The shape's scale s is this fraction of the frame's smaller side, uniform in [MIN, MAX). */
    public static final double MIN_SCALE = 0.14, MAX_SCALE = 0.20;
    /** Rejection draws before a filter is declared unsatisfiable. */
    private static final int MAX_DRAWS = 10_000;

    private final int width, height, frames;

    public World(int width, int height, int frames) {
        if (width < 16 || height < 16) throw new IllegalArgumentException("the world needs frames of at least 16x16, got " + width + "x" + height);
        if (frames < 1) throw new IllegalArgumentException("frames must be at least 1, got " + frames);
        this.width = width;
        this.height = height;
        this.frames = frames;
    }

    /** 64×64, 8 frames. */
    public static World defaults() { return new World(DEFAULT_SIZE, DEFAULT_SIZE, DEFAULT_FRAMES); }

    public int width() { return width; }

    public int height() { return height; }

    public int frames() { return frames; }

    /** Sample {@code index} of {@code seed}, any split. */
    public Sample sample(long seed, long index) {
        return sample(seed, index, Split.ALL, Attributes.ANY);
    }

    /** Sample {@code index} of {@code seed} within a split (TRAIN: never a held-out combination; EVAL: only those). */
    public Sample sample(long seed, long index, Split split) {
        return sample(seed, index, split, Attributes.ANY);
    }

    /**
     * Sample {@code index} of {@code seed} within a split and with the attributes {@code fixed} names (null fields
     * free): scenes are drawn from the sample's own generator until one qualifies, so the result depends only on
     * the arguments.
     */
    public Sample sample(long seed, long index, Split split, Attributes fixed) {
        Rng rng = Rng.of(seed, index);
        for (int draw = 0; draw < MAX_DRAWS; draw++) {
            Scene s = drawScene(rng, fixed);
            if (s == null) continue;
            Attributes a = s.attributes();
            if (split.admits(a) && fixed.admits(a)) return render(seed, index, s);
        }
        throw new IllegalArgumentException("no scene of the world satisfies " + fixed + " in split " + split
                + (frames == 1 ? " (stills have motion NONE)" : ""));
    }

    /** Draws a scene; the fixed attributes are taken as given (still drawing the same numbers, so streams stay aligned). */
    private Scene drawScene(Rng rng, Attributes fixed) {
        ShapeKind shape = pick(ShapeKind.values(), rng, fixed.shape());
        Colour colour = pick(Colour.values(), rng, fixed.colour());
        Colour bgColour = pick(Colour.values(), rng, fixed.backgroundColour());
        Pattern pattern = pick(Pattern.values(), rng, fixed.pattern());
        Motion motion = frames == 1 ? Motion.NONE : pick(Motion.moving(), rng, fixed.motion());
        boolean alongY = rng.nextBoolean(), flip = rng.nextBoolean();
        int periods = 3 + rng.nextInt(3);
        double phase = rng.nextDouble();
        double s = Math.min(width, height) * rng.uniform(MIN_SCALE, MAX_SCALE);
        double[][] path = path(rng, motion, s);
        if (!Colour.contrasts(colour, bgColour)) return null;
        Background bg = new Background(pattern, bgColour, alongY, flip, periods, phase);
        return new Scene(shape, colour, bg, motion, s, path);
    }

    private static <T> T pick(T[] values, Rng rng, T fixed) {
        T v = values[rng.nextInt(values.length)];
        return fixed != null ? fixed : v;
    }

    /** The path of the unit box's centre; the box (half-side s) stays at least one pixel inside the frame. */
    private double[][] path(Rng rng, Motion motion, double s) {
        double m = 1, xMin = s + m, xMax = width - s - m, yMin = s + m, yMax = height - s - m;
        int n = frames;
        double[][] p = new double[n][2];
        double a = rng.nextDouble(), b = rng.nextDouble(), c = rng.nextDouble(), d = rng.nextDouble();
        boolean e = rng.nextBoolean();
        switch (motion) {
            case NONE -> p[0] = new double[]{lerp(xMin, xMax, a), lerp(yMin, yMax, b)};
            case LEFT, RIGHT, UP, DOWN -> {
                boolean horizontal = motion == Motion.LEFT || motion == Motion.RIGHT;
                double lo = horizontal ? xMin : yMin, hi = horizontal ? xMax : yMax;
                double travel = Math.min(hi - lo, (horizontal ? width : height) * lerp(0.35, 0.6, a));
                double start = lerp(lo, hi - travel, b), across = horizontal ? lerp(yMin, yMax, c) : lerp(xMin, xMax, c);
                boolean forward = motion == Motion.RIGHT || motion == Motion.DOWN;
                for (int f = 0; f < n; f++) {
                    double t = (double) f / (n - 1), along = start + travel * (forward ? t : 1 - t);
                    p[f] = horizontal ? new double[]{along, across} : new double[]{across, along};
                }
            }
            case BOUNCING -> {
                double x = lerp(xMin, xMax, a), amp = Math.min(yMax - yMin, height * lerp(0.3, 0.5, b));
                int bounces = e ? 2 : 1;
                for (int f = 0; f < n; f++) {
                    double t = (double) f / (n - 1);
                    p[f] = new double[]{x, yMax - amp * Math.abs(StrictMath.sin(StrictMath.PI * bounces * t))};
                }
            }
            case ORBITING -> {
                double half = Math.min(xMax - xMin, yMax - yMin) / 2;
                double rho = Math.min(half, Math.min(width, height) * lerp(0.12, 0.22, a));
                double cx = lerp(xMin + rho, xMax - rho, b), cy = lerp(yMin + rho, yMax - rho, c), theta0 = 2 * StrictMath.PI * d;
                double dir = e ? 1 : -1;
                for (int f = 0; f < n; f++) {
                    double th = theta0 + dir * 2 * StrictMath.PI * f / n;
                    p[f] = new double[]{cx + rho * StrictMath.cos(th), cy + rho * StrictMath.sin(th)};
                }
            }
        }
        return p;
    }

    private static double lerp(double lo, double hi, double t) {
        return lo + (hi - lo) * t;
    }

    /** Renders a scene (its path's length gives the frames) at this world's size. */
    public Sample render(long seed, long index, Scene scene) {
        int f = scene.frames(), hw = height * width;
        float[] rgb = new float[f * hw * 3];
        float[][] alpha = new float[f][];
        double[][] centroids = new double[f][];
        double[] areas = new double[f];
        double[] fg = scene.colour().rgb();
        double[] unit = scene.shape().unitPolygon();
        double[][] path = scene.path();
        for (int i = 0; i < f; i++) {
            scene.background().render(width, height, rgb, i * hw * 3);
            float[] a = new float[hw];
            double cx = path[i][0], cy = path[i][1], s = scene.size();
            if (unit == null) Raster.disc(cx, cy, s, width, height, a);
            else {
                double[] poly = new double[unit.length];
                for (int k = 0; k < unit.length; k += 2) {
                    poly[k] = cx + s * unit[k];
                    poly[k + 1] = cy + s * unit[k + 1];
                }
                Raster.polygon(poly, width, height, a);
            }
            double sum = 0, sx = 0, sy = 0;
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++) {
                    float al = a[y * width + x];
                    if (al == 0) continue;
                    sum += al;
                    sx += al * (x + 0.5);
                    sy += al * (y + 0.5);
                    int o = (i * hw + y * width + x) * 3;
                    for (int ch = 0; ch < 3; ch++) rgb[o + ch] = (float) (rgb[o + ch] * (1 - (double) al) + fg[ch] * al);
                }
            alpha[i] = a;
            areas[i] = sum;
            centroids[i] = new double[]{sx / sum, sy / sum};
        }
        return new Sample(seed, index, scene, Split.of(scene.attributes()), new WorldVideo(f, height, width, rgb), alpha, centroids, areas);
    }
}
