package dev.tav4j.model.eval;

import dev.tav4j.model.world.Background;
import dev.tav4j.model.world.Colour;
import dev.tav4j.model.world.Scene;
import dev.tav4j.model.world.ShapeKind;

import java.util.ArrayList;
import java.util.List;

/**
 * Edit prompts derived from a source scene of the world: one attribute changed, the motion (and everything else)
 * kept, written in the captions' own grammar so {@link dev.tav4j.model.world.WorldPrompt} reads them back. A changed
 * colour always contrasts with the background (and a changed background with the shape), as the world requires.
 */
public final class WorldEdits {
    /** Which attribute an edit changes. */
    public enum Kind {
        SHAPE, COLOUR, BACKGROUND;

        public String word() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /** An edit: its kind and its prompt. */
    public record Edit(Kind kind, String prompt) {}

    private WorldEdits() {}

    /** The edit of {@code kind}; {@code pick} chooses among the admissible values (any long; the same gives the same). */
    public static Edit of(Scene s, Kind kind, long pick) {
        Background bg = s.background();
        Scene edited = switch (kind) {
            case SHAPE -> {
                List<ShapeKind> c = new ArrayList<>();
                for (ShapeKind k : ShapeKind.values()) if (k != s.shape()) c.add(k);
                yield new Scene(choose(c, pick), s.colour(), bg, s.motion(), s.size(), s.path());
            }
            case COLOUR -> {
                List<Colour> c = new ArrayList<>();
                for (Colour k : Colour.values()) if (k != s.colour() && Colour.contrasts(k, bg.colour())) c.add(k);
                yield new Scene(s.shape(), choose(c, pick), bg, s.motion(), s.size(), s.path());
            }
            case BACKGROUND -> {
                List<Colour> c = new ArrayList<>();
                for (Colour k : Colour.values()) if (k != bg.colour() && Colour.contrasts(s.colour(), k)) c.add(k);
                Background b = new Background(bg.pattern(), choose(c, pick), bg.alongY(), bg.flip(), bg.periods(), bg.phase());
                yield new Scene(s.shape(), s.colour(), b, s.motion(), s.size(), s.path());
            }
        };
        return new Edit(kind, edited.caption());
    }

    /** One edit of each kind, in the order SHAPE, COLOUR, BACKGROUND. */
    public static List<Edit> all(Scene s, long pick) {
        List<Edit> out = new ArrayList<>();
        for (Kind k : Kind.values()) out.add(of(s, k, pick));
        return out;
    }

    private static <T> T choose(List<T> candidates, long pick) {
        if (candidates.isEmpty()) throw new IllegalStateException("no admissible value for the edit");
        long h = pick * 0x9E3779B97F4A7C15L;  // spread consecutive indices over the candidates
        return candidates.get((int) Math.floorMod(h ^ (h >>> 29), (long) candidates.size()));
    }
}
