package dev.tav4j.model.world;

import java.util.Locale;

/** How the shape moves over a clip; {@link #NONE} for still images. The shape stays wholly inside the frame. */
public enum Motion {
    /** A still image (one frame): the caption has no verb. */
    NONE(null),
    /** Linear, right to left, over 35–60 % of the frame width. */
    LEFT("moving left"),
    /** Linear, left to right. */
    RIGHT("moving right"),
    /** Linear, bottom to top, over 35–60 % of the frame height. */
    UP("moving up"),
    /** Linear, top to bottom. */
    DOWN("moving down"),
    /** One or two bounces on a floor near the bottom: height A·|sin(π·n·t)|, the column fixed. */
    BOUNCING("bouncing"),
    /** One full turn (clockwise or not) on a circle about a point near the centre, starting at a random angle. */
    ORBITING("orbiting");

    private final String phrase;

    Motion(String phrase) { this.phrase = phrase; }

    /** The caption's verb phrase ("moving right"), null for NONE. */
    public String phrase() { return phrase; }

    public String word() { return name().toLowerCase(Locale.ROOT); }

    /** The motions of videos (all but NONE). */
    public static Motion[] moving() {
        return new Motion[]{LEFT, RIGHT, UP, DOWN, BOUNCING, ORBITING};
    }
}
