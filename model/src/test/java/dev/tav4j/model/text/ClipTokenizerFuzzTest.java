package dev.tav4j.model.text;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tav4j.model.fuzz.Fuzzing;
import dev.tav4j.model.golden.GoldenData;
import org.junit.jupiter.api.BeforeAll;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Fuzzes the CLIP tokenizer with the real vocabulary and merges (the golden tiny checkpoint's tokenizer/; skipped
 * when the golden data is absent). The input bytes are tried twice: as UTF-8 (so the seeds are plain text prompts)
 * and as UTF-16LE (which reaches lone surrogates and any BMP character). Contract: any string encodes without an
 * exception to exactly maxLength ids in the vocabulary's range: BOS, the first maxLength − 2 prompt tokens, EOS,
 * then padding, with the dropped count = tokens − (maxLength − 2) when positive.
 * Seeds: {@code ClipTokenizerFuzzTestInputs/encode}.
 */
class ClipTokenizerFuzzTest {
    private static ClipTokenizer tok;
    /** Held so that the level set below sticks (java.util.logging keeps loggers weakly). */
    private static Logger quiet;

    @BeforeAll
    static void load() {
        tok = ClipTokenizer.load(GoldenData.models().resolve("tiny-sd-a/tokenizer"));
        // every over-long input would log the truncation warning
        quiet = Logger.getLogger(ClipTokenizer.class.getName());
        quiet.setLevel(Level.SEVERE);
    }

    @FuzzTest
    void encode(byte[] data) {
        check(new String(data, StandardCharsets.UTF_8));
        check(new String(data, StandardCharsets.UTF_16LE));
    }

    private static void check(String prompt) {
        long before = Fuzzing.allocated();
        List<Integer> tokens = tok.tokenIds(prompt);
        Tokenized t = tok.encodeWithInfo(prompt);
        int[] ids = t.ids();
        int max = tok.maxLength(), room = max - 2, n = Math.min(room, tokens.size());
        if (ids.length != max) fail(prompt, ids.length + " ids, not " + max);
        for (int id : ids) if (id < 0 || id >= tok.vocabSize()) fail(prompt, "id " + id + " outside the vocabulary");
        if (ids[0] != tok.bosId() || ids[1 + n] != tok.eosId()) fail(prompt, "no BOS at 0 or EOS at " + (1 + n));
        for (int i = 0; i < n; i++) if (ids[1 + i] != tokens.get(i)) fail(prompt, "token " + i + " differs from tokenIds");
        for (int i = 2 + n; i < max; i++) if (ids[i] != tok.padId()) fail(prompt, "no padding at " + i);
        int dropped = Math.max(0, tokens.size() - room);
        if (t.droppedTokens() != dropped || t.truncated() != dropped > 0) fail(prompt, "dropped " + t.droppedTokens() + ", expected " + dropped);
        // the tokenizer's work is linear in the prompt (BPE per word, cached): a few KB of text stays small
        Fuzzing.requireAllocatedBelow(before, (32L << 20) + 4096L * prompt.length(), "encoding a " + prompt.length() + "-char prompt");
    }

    private static void fail(String prompt, String what) {
        throw new AssertionError(what + " for prompt '" + prompt + "'");
    }
}
