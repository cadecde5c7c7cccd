package dev.tav4j.model.world;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a caption or edit prompt of the world's grammar states; each field is null when the text does not say.
 * Grammar: "a COLOUR SHAPE [is MOTION] [on a BG-COLOUR [gradient|striped] background]". The subject is the first
 * shape word before "on"; its colour the last colour word before it; the background the colour word and pattern
 * adjective between the last "on" and "background" ("on a blue background" states PLAIN). Words the world does not
 * know are ignored; "ball" and "disc" read as circle, "plus" as cross, "stripes"/"stripy" as striped, "circling" as
 * orbiting.
 */
public record WorldPrompt(ShapeKind shape, Colour colour, Pattern pattern, Colour backgroundColour, Motion motion) {
    public static WorldPrompt parse(String text) {
        List<String> t = new ArrayList<>();
        for (String w : text.toLowerCase(Locale.ROOT).split("[^a-z]+")) if (!w.isEmpty()) t.add(w);
        int bgAt = t.lastIndexOf("background"), onAt = -1;
        if (bgAt >= 0) for (int i = bgAt - 1; i >= 0; i--) if (t.get(i).equals("on")) {
            onAt = i;
            break;
        }
        int subjectEnd = onAt >= 0 ? onAt : t.size();
        ShapeKind shape = null;
        Colour colour = null;
        for (int i = 0; i < subjectEnd && shape == null; i++) {
            shape = shapeWord(t.get(i));
            if (shape != null) for (int j = i - 1; j >= 0 && colour == null; j--) colour = Colour.ofWord(t.get(j));
        }
        if (shape == null) for (int i = 0; i < subjectEnd && colour == null; i++) colour = Colour.ofWord(t.get(i));
        Colour bg = null;
        Pattern pattern = null;
        if (onAt >= 0) {
            for (int i = onAt + 1; i < bgAt; i++) {
                String w = t.get(i);
                if (bg == null) bg = Colour.ofWord(w);
                if (w.equals("gradient")) pattern = Pattern.GRADIENT;
                if (w.equals("striped") || w.equals("stripes") || w.equals("stripy")) pattern = Pattern.STRIPES;
            }
            if (pattern == null && bg != null) pattern = Pattern.PLAIN;
        }
        Motion motion = null;
        for (int i = 0; i < subjectEnd && motion == null; i++) {
            String w = t.get(i), next = i + 1 < t.size() ? t.get(i + 1) : "";
            if (w.equals("bouncing")) motion = Motion.BOUNCING;
            else if (w.equals("orbiting") || w.equals("circling")) motion = Motion.ORBITING;
            else if (w.equals("moving")) motion = switch (next) {
                case "left" -> Motion.LEFT;
                case "right" -> Motion.RIGHT;
                case "up" -> Motion.UP;
                case "down" -> Motion.DOWN;
                default -> null;
            };
        }
        return new WorldPrompt(shape, colour, pattern, bg, motion);
    }

    private static ShapeKind shapeWord(String w) {
        return switch (w) {
            case "ball", "disc", "disk" -> ShapeKind.CIRCLE;
            case "plus" -> ShapeKind.CROSS;
            default -> ShapeKind.ofWord(w);
        };
    }
}
