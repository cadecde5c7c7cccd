package dev.tav4j.model.text;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ByteUnicodeAndCleanerTest {

    @Test
    void byteTableIsABijectionWithGpt2Anchors() {
        Set<Character> seen = new HashSet<>();
        for (int b = 0; b < 256; b++) seen.add(ByteUnicode.charOf(b));
        assertEquals(256, seen.size());
        assertEquals('!', ByteUnicode.charOf('!'));
        assertEquals('\u0100', ByteUnicode.charOf(0x00));
        assertEquals('\u0120', ByteUnicode.charOf(' '));   // GPT-2's "Ġ"
        assertEquals('\u0143', ByteUnicode.charOf(0xAD));  // the last remapped byte: 68 in all
        assertEquals('\u00ae', ByteUnicode.charOf(0xAE));
        assertEquals("Ã©", ByteUnicode.encode("é"));
        String s = "café 🐱 \u0000x";
        assertEquals(s, ByteUnicode.decode(ByteUnicode.encode(s)));
    }

    @Test
    void cleanerCollapsesWhitespaceAndLowerCases() {
        assertEquals("lots of white space here", ClipTextCleaner.clean("  lots   of\twhite space \n here  "));
        assertEquals("über café", ClipTextCleaner.clean("Über CAFÉ"));
        assertEquals("a b", ClipTextCleaner.clean("a\u00a0\u2028b"));
    }

    @Test
    void cleanerDropsControlsSpacesCjkAndComposes() {
        assertEquals("abc", ClipTextCleaner.clean("a\u0000b\u200dc\u0007"));
        assertEquals("x 中 文 y", ClipTextCleaner.clean("x中文y"));
        assertEquals("\u00e9", ClipTextCleaner.clean("e\u0301"));
        assertEquals("", ClipTextCleaner.clean(" \t\r\n "));
    }
}
