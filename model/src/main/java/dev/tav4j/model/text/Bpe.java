package dev.tav4j.model.text;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-pair merging of one pre-token with CLIP's end-of-word marker: the last symbol carries {@code </w>},
 * then the adjacent pair with the lowest merge rank is merged everywhere (left to right, no overlaps) until
 * no known pair is left. Results are cached per pre-token, as in transformers.
 */
final class Bpe {
    static final String END_OF_WORD = "</w>";
    /** Keeps the cache from growing without bound on a long-lived process fed many distinct words. */
    private static final int CACHE_LIMIT = 200_000;

    private final Map<String, Integer> ranks;
    private final Map<String, List<String>> cache = new ConcurrentHashMap<>();
    private final Map<String, List<String>> fixed;

    /**
     * @param ranks merge rank by {@code first + " " + second}
     * @param unsplit pre-tokens returned as they are (the special tokens)
     */
    Bpe(Map<String, Integer> ranks, List<String> unsplit) {
        this.ranks = ranks;
        Map<String, List<String>> f = new HashMap<>();
        for (String s : unsplit) f.put(s, List.of(s));
        this.fixed = Map.copyOf(f);
    }

    /** The BPE symbols of one byte-encoded pre-token (non-empty). */
    List<String> apply(String token) {
        List<String> special = fixed.get(token);
        if (special != null) return special;
        List<String> hit = cache.get(token);
        if (hit != null) return hit;
        List<String> result = merge(token);
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(token, result);
        return result;
    }

    private List<String> merge(String token) {
        List<String> word = initialSymbols(token);
        while (word.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String first = null, second = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer r = ranks.get(word.get(i) + " " + word.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    first = word.get(i);
                    second = word.get(i + 1);
                }
            }
            if (first == null) break;
            List<String> merged = new ArrayList<>(word.size());
            int i = 0;
            while (i < word.size()) {
                if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i += 2;
                } else {
                    merged.add(word.get(i));
                    i += 1;
                }
            }
            word = merged;
        }
        return List.copyOf(word);
    }

    /** One symbol per code point, the last with the end-of-word marker. */
    private static List<String> initialSymbols(String token) {
        List<String> symbols = new ArrayList<>(token.length());
        token.codePoints().forEach(cp -> symbols.add(Character.toString(cp)));
        int last = symbols.size() - 1;
        symbols.set(last, symbols.get(last) + END_OF_WORD);
        return symbols;
    }
}
