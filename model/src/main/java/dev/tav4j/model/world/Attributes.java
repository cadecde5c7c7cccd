package dev.tav4j.model.world;

/**
 * The categorical attributes of a scene: shape, its colour, the background's pattern and colour, and the motion.
 * As a filter ({@link World#sample(long, long, Split, Attributes)}), a null field means "any".
 */
public record Attributes(ShapeKind shape, Colour colour, Pattern pattern, Colour backgroundColour, Motion motion) {
    /** No constraint. */
    public static final Attributes ANY = new Attributes(null, null, null, null, null);

    /** Whether {@code a} (all fields set) satisfies this filter. */
    public boolean admits(Attributes a) {
        return (shape == null || shape == a.shape) && (colour == null || colour == a.colour)
                && (pattern == null || pattern == a.pattern) && (backgroundColour == null || backgroundColour == a.backgroundColour)
                && (motion == null || motion == a.motion);
    }

    public Attributes withShape(ShapeKind s) { return new Attributes(s, colour, pattern, backgroundColour, motion); }

    public Attributes withColour(Colour c) { return new Attributes(shape, c, pattern, backgroundColour, motion); }

    public Attributes withBackground(Pattern p, Colour c) { return new Attributes(shape, colour, p, c, motion); }

    public Attributes withMotion(Motion m) { return new Attributes(shape, colour, pattern, backgroundColour, m); }
}
