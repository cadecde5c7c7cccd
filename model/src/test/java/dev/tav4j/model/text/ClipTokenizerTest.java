package dev.tav4j.model.text;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BPE, special tokens, padding and truncation on a hand-made vocabulary (ids in {@link TinyTokenizerFiles}). */
class ClipTokenizerTest {
    @TempDir Path tmp;

    @Test
    void mergeRankDecidesTheSplit() throws Exception {
        ClipTokenizer bcFirst = ClipTokenizer.load(TinyTokenizerFiles.sd1(tmp.resolve("bc")));
        assertEquals(List.of(1, 8), bcFirst.tokenIds("abc"), "b+c</w> has the lower rank: a, bc</w>");

        ClipTokenizer abFirst = ClipTokenizer.load(TinyTokenizerFiles.write(tmp.resolve("ab"), TinyTokenizerFiles.VOCAB,
                "#version: 0.2\na b\nb c</w>\n", TinyTokenizerFiles.SD1_MAP, null));
        assertEquals(List.of(7, 6), abFirst.tokenIds("abc"), "a+b has the lower rank: ab, c</w>");

        ClipTokenizer full = ClipTokenizer.load(TinyTokenizerFiles.write(tmp.resolve("full"), TinyTokenizerFiles.VOCAB,
                "#version: 0.2\nb c</w>\na bc</w>\n", TinyTokenizerFiles.SD1_MAP, null));
        assertEquals(List.of(9), full.tokenIds("abc"), "merges apply repeatedly until one symbol is left");
    }

    @Test
    void endOfWordMarkerOnlyOnTheLastSymbol() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(TinyTokenizerFiles.sd1(tmp.resolve("t")));
        assertEquals(List.of(4), tok.tokenIds("a"), "a single character is a</w>");
        assertEquals(List.of(4, 4, 5), tok.tokenIds("a a b"));
        // "ab": the pair is (a, b</w>), which is not a merge, so no "ab" symbol
        assertEquals(List.of(1, 5), tok.tokenIds("ab"));
        assertEquals(List.of(1, 1, 5), tok.tokenIds("aab"));
    }

    @Test
    void unknownSymbolsBecomeUnk() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(TinyTokenizerFiles.sd1(tmp.resolve("t")));
        assertEquals(12, tok.unkId());
        // z</w> is not in the vocabulary; a+b still merges
        assertEquals(List.of(7, 12), tok.tokenIds("abz"));
        assertEquals(List.of(12), tok.tokenIds("z"));
        // é is two UTF-8 bytes → two byte symbols, both unknown
        assertEquals(List.of(12, 12), tok.tokenIds("é"));
    }

    @Test
    void cleansWhitespaceAndCaseAndSplitsContractions() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(TinyTokenizerFiles.sd1(tmp.resolve("t")));
        assertEquals(List.of(1, 8, 1, 5), tok.tokenIds("  ABC \t\n aB "));
        assertEquals(List.of(13, 16), tok.tokenIds("HI'S"), "'s is its own pre-token");
        assertEquals(List.of(13, 10), tok.tokenIds("hi!"), "with SD 1.x the ! is ordinary punctuation: !</w>");
        assertEquals(List.of(), tok.tokenIds(" \t\n"));
    }

    @Test
    void specialTokensInTextMapToTheirIds() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(TinyTokenizerFiles.sd1(tmp.resolve("t")));
        assertEquals(List.of(4, 12, 5), tok.tokenIds("a<|endoftext|>b"));
        assertEquals(List.of(11, 4), tok.tokenIds("<|STARTOFTEXT|> a"), "the regex alternative is case-insensitive");
    }

    @Test
    void layoutIsBosTokensEosThenPad() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(TinyTokenizerFiles.sd1(tmp.resolve("t")));
        assertEquals(77, tok.maxLength());
        int[] ids = tok.encode("abc a");
        assertEquals(77, ids.length);
        assertArrayEquals(new int[] {11, 1, 8, 4, 12}, Arrays.copyOf(ids, 5));
        for (int i = 5; i < 77; i++) assertEquals(12, ids[i], "pad at " + i);
        int[] empty = tok.encode("");
        assertEquals(11, empty[0]);
        assertEquals(12, empty[1]);
    }

    @Test
    void sd2PadTokenIsExclamationMark() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(TinyTokenizerFiles.write(tmp.resolve("sd2"), TinyTokenizerFiles.VOCAB,
                TinyTokenizerFiles.MERGES_BC_FIRST, TinyTokenizerFiles.SD2_MAP, "{\"model_max_length\": 77}"));
        assertEquals(0, tok.padId());
        assertEquals(11, tok.bosId());
        assertEquals(12, tok.eosId());
        int[] ids = tok.encode("abc");
        assertArrayEquals(new int[] {11, 1, 8, 12, 0, 0}, Arrays.copyOf(ids, 6));
        assertEquals(0, ids[76]);
        // transformers splits the text on every special token, pad included: "!" becomes id 0, not !</w>
        assertEquals(List.of(13, 0), tok.tokenIds("hi!"));
    }

    @Test
    void padTokenFromTokenizerConfigWhenMapHasNone() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(TinyTokenizerFiles.write(tmp.resolve("cfg"), TinyTokenizerFiles.VOCAB,
                TinyTokenizerFiles.MERGES_BC_FIRST, null, "{\"pad_token\": {\"content\": \"!\"}}"));
        assertEquals(0, tok.padId());
        assertEquals(77, tok.maxLength());
    }

    @Test
    void overLongPromptKeepsTheFirstTokensEndsWithEosAndWarns() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(TinyTokenizerFiles.write(tmp.resolve("short"), TinyTokenizerFiles.VOCAB,
                TinyTokenizerFiles.MERGES_BC_FIRST, TinyTokenizerFiles.SD1_MAP, "{\"model_max_length\": 8}"));
        assertEquals(8, tok.maxLength());
        List<LogRecord> records = new ArrayList<>();
        Logger log = Logger.getLogger(ClipTokenizer.class.getName());
        Handler h = new Handler() {
            @Override public void publish(LogRecord r) { records.add(r); }
            @Override public void flush() {}
            @Override public void close() {}
        };
        log.addHandler(h);
        try {
            Tokenized fits = tok.encodeWithInfo("a a a a abc"); // 6 tokens: exactly fits
            assertFalse(fits.truncated());
            assertEquals(0, fits.droppedTokens());
            assertEquals("", fits.droppedText());
            assertTrue(records.isEmpty(), "no warning when the prompt fits");

            // 5 × a</w> + (a, bc</w>) + b</w> + c</w> = 9 tokens, 6 fit
            Tokenized t = tok.encodeWithInfo("a a a a a abc b c");
            assertArrayEquals(new int[] {11, 4, 4, 4, 4, 4, 1, 12}, t.ids());
            assertTrue(t.truncated());
            assertEquals(3, t.droppedTokens());
            assertEquals("bc b c", t.droppedText());
            assertEquals(1, records.size());
            LogRecord r = records.getFirst();
            assertEquals(Level.WARNING, r.getLevel());
            assertTrue(r.getMessage().contains("truncated to CLIP's 8 tokens"), r.getMessage());
            assertTrue(r.getMessage().contains("3 tokens dropped"), r.getMessage());
            assertTrue(r.getMessage().endsWith("starting \"bc b c\""), r.getMessage());  // at most the first 8 dropped, on one line
        } finally {
            log.removeHandler(h);
        }
    }

    @Test
    void encodeReturnsAFreshArray() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(TinyTokenizerFiles.sd1(tmp.resolve("t")));
        Tokenized t = tok.encodeWithInfo("a");
        t.ids()[1] = -1;
        assertEquals(4, t.ids()[1]);
        assertEquals(tok.encode("abc")[2], tok.encode("abc")[2]);
    }
}
