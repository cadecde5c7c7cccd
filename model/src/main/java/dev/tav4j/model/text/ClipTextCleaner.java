package dev.tav4j.model.text;

import java.text.Normalizer;
import java.util.Locale;

/**
 * The text clean-up transformers' slow {@code CLIPTokenizer} does when ftfy is not installed (the reference
 * environment): {@code BasicTokenizer(strip_accents=False, do_split_on_punc=False)} then {@code " ".join}.
 * That is: drop NUL, U+FFFD and control/format/unassigned characters; turn whitespace into spaces; put spaces
 * around CJK ideographs; NFC-normalise; split on whitespace; lower-case each piece; join with one space.
 * Accents and punctuation are kept (the CLIP regex splits punctuation later).
 */
final class ClipTextCleaner {
    private ClipTextCleaner() {}

    static String clean(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 8);
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) return;
            if (isBertWhitespace(cp)) {
                sb.append(' ');
            } else if (isCjk(cp)) {
                sb.append(' ').appendCodePoint(cp).append(' ');
            } else {
                sb.appendCodePoint(cp);
            }
        });
        String normalized = Normalizer.normalize(sb, Normalizer.Form.NFC);
        StringBuilder out = new StringBuilder(normalized.length());
        int i = 0, n = normalized.length();
        while (i < n) {
            while (i < n && isPythonSpace(normalized.codePointAt(i))) i += Character.charCount(normalized.codePointAt(i));
            int start = i;
            while (i < n && !isPythonSpace(normalized.codePointAt(i))) i += Character.charCount(normalized.codePointAt(i));
            if (i > start) {
                if (!out.isEmpty()) out.append(' ');
                out.append(normalized.substring(start, i).toLowerCase(Locale.ROOT));
            }
        }
        return out.toString();
    }

    /** BERT's {@code _is_whitespace}: space, tab, newline, carriage return, or category Zs. */
    private static boolean isBertWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r'
                || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    /** BERT's {@code _is_control}: any category C* except tab, newline and carriage return. */
    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.PRIVATE_USE, Character.SURROGATE,
                 Character.UNASSIGNED -> true;
            default -> false;
        };
    }

    /** What Python's {@code str.split()} splits on. */
    private static boolean isPythonSpace(int cp) {
        if ((cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85) return true;
        int t = Character.getType(cp);
        return t == Character.SPACE_SEPARATOR || t == Character.LINE_SEPARATOR || t == Character.PARAGRAPH_SEPARATOR;
    }

    /** BERT's {@code _is_chinese_char}: the CJK Unified Ideographs blocks and their extensions. */
    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF)
                || (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F)
                || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
