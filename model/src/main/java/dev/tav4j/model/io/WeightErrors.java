package dev.tav4j.model.io;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** Messages shared by the {@link Weights} implementations: missing weights with similar names, shape mismatches. */
final class WeightErrors {
    private WeightErrors() {}

    static MissingWeightException missing(String name, String component, String source, Collection<String> names) {
        List<String> similar = similar(name, names, 3);
        String hint = similar.isEmpty() ? "" : "; similar names: " + String.join(", ", similar);
        return new MissingWeightException(name, "missing weight '" + name + "' for component '" + component
                + "' (searched " + source + ", " + names.size() + " weights)" + hint);
    }

    static void checkShape(String name, String component, String source, int[] actual, int[] expected) {
        if (expected.length > 0 && !Arrays.equals(actual, expected))
            throw new WeightShapeException("weight '" + name + "' of component '" + component + "' in " + source
                    + ": expected shape " + Arrays.toString(expected) + " (from the config), found " + Arrays.toString(actual));
    }

    /** Up to {@code max} names closest to {@code name} by edit distance, nearest first, only plausibly close ones. */
    static List<String> similar(String name, Collection<String> names, int max) {
        record Scored(String name, int d) {}
        int limit = Math.max(4, name.length() / 3);
        List<Scored> scored = new ArrayList<>();
        for (String n : names) {
            if (Math.abs(n.length() - name.length()) > limit) continue;
            int d = distance(name, n, limit);
            if (d <= limit) scored.add(new Scored(n, d));
        }
        scored.sort(Comparator.comparingInt(Scored::d).thenComparing(Scored::name));
        return scored.stream().limit(max).map(Scored::name).toList();
    }

    /** Levenshtein distance, stopping early once every entry of a row exceeds {@code limit}. */
    static int distance(String a, String b, int limit) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            int rowMin = cur[0];
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
                rowMin = Math.min(rowMin, cur[j]);
            }
            if (rowMin > limit) return rowMin;
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }
}
