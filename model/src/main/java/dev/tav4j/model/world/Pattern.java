package dev.tav4j.model.world;

import java.util.Locale;

/** A background's pattern: the families the segmenter knows (every one is constant along rows or along columns). */
public enum Pattern {
    /** One colour: "on a blue background". */
    PLAIN(""),
    /** A linear ramp across the frame from a darker to a lighter shade of the colour: "on a blue gradient background". */
    GRADIENT("gradient "),
    /** Bands of two shades of the colour, 3 to 5 periods across the frame: "on a blue striped background". */
    STRIPES("striped ");

    private final String adjective;

    Pattern(String adjective) { this.adjective = adjective; }

    /** The caption's adjective with its trailing space ("" for plain). */
    public String adjective() { return adjective; }

    public String word() { return name().toLowerCase(Locale.ROOT); }
}
