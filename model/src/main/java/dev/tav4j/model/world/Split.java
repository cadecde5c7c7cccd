package dev.tav4j.model.world;

/**
 * Training and held-out evaluation combinations. The rule: a combination (shape, colour, background pattern,
 * background colour, motion) is held out for evaluation exactly when the sum of the five enum ordinals
 * (ShapeKind, Colour, Pattern, Colour, Motion; Motion.NONE = 0 for stills) is divisible by 7. About one in seven
 * combinations is held out; every single attribute value, and every pair of values of two attributes, still occurs in
 * training (fix any two and the other three can always make the sum miss a multiple of 7), so evaluation measures
 * composition, not unseen words.
 */
public enum Split {
    TRAIN, EVAL, ALL;

    public static final int MODULUS = 7;

    /** The split a combination belongs to (TRAIN or EVAL). */
    public static Split of(Attributes a) {
        int sum = a.shape().ordinal() + a.colour().ordinal() + a.pattern().ordinal() + a.backgroundColour().ordinal() + a.motion().ordinal();
        return sum % MODULUS == 0 ? EVAL : TRAIN;
    }

    /** Whether this split (ALL takes both) admits a combination. */
    public boolean admits(Attributes a) {
        return this == ALL || of(a) == this;
    }
}
