package dev.tav4j.model.text;

import dev.tav4j.model.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Missing or malformed tokenizer files give errors that name the file. */
class ClipTokenizerErrorsTest {
    @TempDir Path tmp;

    private static void assertNames(ConfigException e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' missing from: " + e.getMessage());
    }

    @Test
    void missingFolder() {
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(tmp.resolve("nope")));
        assertNames(e, "nope", "not found");
    }

    @Test
    void missingVocab() throws Exception {
        Path dir = TinyTokenizerFiles.write(tmp.resolve("t"), null, TinyTokenizerFiles.MERGES_BC_FIRST, TinyTokenizerFiles.SD1_MAP, null);
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, dir.resolve("vocab.json").toString(), "not found");
    }

    @Test
    void missingMerges() throws Exception {
        Path dir = TinyTokenizerFiles.write(tmp.resolve("t"), TinyTokenizerFiles.VOCAB, null, TinyTokenizerFiles.SD1_MAP, null);
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, dir.resolve("merges.txt").toString(), "not found");
    }

    @Test
    void malformedMergesLine() throws Exception {
        Path dir = TinyTokenizerFiles.write(tmp.resolve("t"), TinyTokenizerFiles.VOCAB,
                "#version: 0.2\na b\nb c d\n", TinyTokenizerFiles.SD1_MAP, null);
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, "merges.txt", "line 3", "b c d");
    }

    @Test
    void mergesWithoutVersionHeader() throws Exception {
        Path dir = TinyTokenizerFiles.write(tmp.resolve("t"), TinyTokenizerFiles.VOCAB, "a b\nb c</w>\n",
                TinyTokenizerFiles.SD1_MAP, null);
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, "merges.txt", "#version");
    }

    @Test
    void mergesNotUtf8() throws Exception {
        Path dir = TinyTokenizerFiles.sd1(tmp.resolve("t"));
        Files.write(dir.resolve("merges.txt"), new byte[] {'#', 'v', '\n', (byte) 0xC3, (byte) 0x28, ' ', 'a', '\n'});
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, "merges.txt", "UTF-8");
    }

    @Test
    void vocabNotJson() throws Exception {
        Path dir = TinyTokenizerFiles.write(tmp.resolve("t"), "{\"a\": 1,", TinyTokenizerFiles.MERGES_BC_FIRST, null, null);
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, "vocab.json", "JSON");
    }

    @Test
    void vocabWithNonIntegerId() throws Exception {
        Path dir = TinyTokenizerFiles.write(tmp.resolve("t"), "{\"a\": \"one\"}", TinyTokenizerFiles.MERGES_BC_FIRST, null, null);
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, "vocab.json", "'a'");
    }

    @Test
    void vocabThatIsNotAnObject() throws Exception {
        Path dir = TinyTokenizerFiles.write(tmp.resolve("t"), "[1, 2]", TinyTokenizerFiles.MERGES_BC_FIRST, null, null);
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, "vocab.json", "object");
    }

    @Test
    void padTokenMissingFromVocab() throws Exception {
        Path dir = TinyTokenizerFiles.write(tmp.resolve("t"), TinyTokenizerFiles.VOCAB, TinyTokenizerFiles.MERGES_BC_FIRST,
                "{\"pad_token\": \"<pad>\"}", null);
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, "vocab.json", "pad_token", "<pad>", "special_tokens_map.json");
    }

    @Test
    void specialTokenOfWrongType() throws Exception {
        Path dir = TinyTokenizerFiles.write(tmp.resolve("t"), TinyTokenizerFiles.VOCAB, TinyTokenizerFiles.MERGES_BC_FIRST,
                "{\"pad_token\": 3}", null);
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, "special_tokens_map.json", "pad_token");
    }

    @Test
    void badModelMaxLength() throws Exception {
        Path dir = TinyTokenizerFiles.write(tmp.resolve("t"), TinyTokenizerFiles.VOCAB, TinyTokenizerFiles.MERGES_BC_FIRST,
                TinyTokenizerFiles.SD1_MAP, "{\"model_max_length\": 1}");
        ConfigException e = assertThrows(ConfigException.class, () -> ClipTokenizer.load(dir));
        assertNames(e, "tokenizer_config.json", "model_max_length");
    }
}
