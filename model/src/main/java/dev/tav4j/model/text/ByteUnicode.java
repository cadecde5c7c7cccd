package dev.tav4j.model.text;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * GPT-2's reversible byte → unicode table: printable Latin-1 bytes map to themselves, the other bytes to
 * code points from U+0100 on (in increasing byte order), so that every UTF-8 byte sequence becomes a string
 * of visible characters that the BPE vocabulary can hold.
 */
final class ByteUnicode {
    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Indexed by character (all table characters are below U+0200); -1 where the character is not in the table. */
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        boolean[] kept = new boolean[256];
        for (int b = '!'; b <= '~'; b++) kept[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) kept[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) kept[b] = true;
        Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 0;
        for (int b = 0; b < 256; b++) {
            char c = kept[b] ? (char) b : (char) (256 + next++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteUnicode() {}

    /** The UTF-8 bytes of {@code text}, each replaced by its table character. */
    static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length);
        for (byte b : bytes) sb.append(BYTE_TO_CHAR[b & 0xFF]);
        return sb.toString();
    }

    /** The inverse of {@link #encode}; characters outside the table are dropped, bad UTF-8 becomes U+FFFD. */
    static String decode(String encoded) {
        byte[] out = new byte[encoded.length()];
        int n = 0;
        for (int i = 0; i < encoded.length(); i++) {
            char c = encoded.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) out[n++] = (byte) b;
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }

    /** The table character of byte {@code b} (0..255). */
    static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }
}
