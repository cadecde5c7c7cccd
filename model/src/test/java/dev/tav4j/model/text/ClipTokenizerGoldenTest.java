package dev.tav4j.model.text;

import dev.tav4j.model.golden.GoldenData;
import org.junit.jupiter.api.Test;

import java.util.Collections;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Truncation of the golden over-long prompt (the exact ids of every golden prompt are checked by GoldenParityTest). */
class ClipTokenizerGoldenTest {

    @Test
    void overLongGoldenPromptIsFlaggedAsTruncated() {
        ClipTokenizer tok = ClipTokenizer.load(GoldenData.models().resolve("tiny-sd-a/tokenizer"));
        String phrase = "a very long prompt that keeps going";
        String prompt = String.join(" ", Collections.nCopies(12, phrase));
        Tokenized t = tok.encodeWithInfo(prompt);
        assertTrue(t.truncated());
        // 12 × 7 words = 84 tokens; 75 fit between BOS and EOS
        assertEquals(84 - 75, t.droppedTokens());
        assertEquals("keeps going " + phrase, t.droppedText());
        assertEquals(tok.eosId(), t.ids()[76]);
    }

}
