package dev.tav4j.model.world;

/**
 * One scene of the world: a shape of a colour on a background, moving along a path. {@code size}: the scale s in
 * pixels of the shape's unit box (see {@link ShapeKind}); {@code path}: per frame the point (x, y), in pixels from the
 * top-left corner of the frame, where the unit box's centre lies.
 */
public record Scene(ShapeKind shape, Colour colour, Background background, Motion motion, double size, double[][] path) {
    public Scene {
        path = copy(path);
        if (path.length == 0) throw new IllegalArgumentException("a scene needs at least one frame");
        if (motion == Motion.NONE && path.length != 1) throw new IllegalArgumentException("a still scene has one frame");
    }

    @Override public double[][] path() { return copy(path); }

    public int frames() { return path.length; }

    /** "a red circle is moving right on a blue background" (a video), or {@link #imageCaption} for a still. */
    public String caption() {
        if (motion == Motion.NONE) return imageCaption();
        return article(colour.word()) + " " + colour.word() + " " + shape.word() + " is " + motion.phrase() + " on " + background.phrase();
    }

    /** "a red circle on a blue background": the caption of any single frame. */
    public String imageCaption() {
        return article(colour.word()) + " " + colour.word() + " " + shape.word() + " on " + background.phrase();
    }

    /** "an" before a vowel ("an orange star"), else "a". */
    static String article(String next) {
        return "aeiou".indexOf(next.charAt(0)) >= 0 ? "an" : "a";
    }

    /** The categorical attributes: what the held-out rule and recognition see. */
    public Attributes attributes() {
        return new Attributes(shape, colour, background.pattern(), background.colour(), motion);
    }

    private static double[][] copy(double[][] p) {
        double[][] c = new double[p.length][];
        for (int i = 0; i < p.length; i++) {
            if (p[i].length != 2) throw new IllegalArgumentException("a path point is (x, y)");
            c[i] = p[i].clone();
        }
        return c;
    }
}
