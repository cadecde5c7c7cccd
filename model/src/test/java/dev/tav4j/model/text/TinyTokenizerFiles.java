package dev.tav4j.model.text;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes a hand-made tokenizer folder for the unit tests. */
final class TinyTokenizerFiles {
    static final String VOCAB = """
            {"!": 0, "a": 1, "b": 2, "c": 3, "a</w>": 4, "b</w>": 5, "c</w>": 6, "ab": 7, "bc</w>": 8,
             "abc</w>": 9, "!</w>": 10, "<|startoftext|>": 11, "<|endoftext|>": 12, "hi</w>": 13, "h": 14,
             "i</w>": 15, "'s</w>": 16, "'": 17, "s</w>": 18}
            """;
    /** b+c</w> outranks a+b, so "abc" → a, bc</w>. */
    static final String MERGES_BC_FIRST = "#version: 0.2\nb c</w>\na b\nh i</w>\n' s</w>\n";
    static final String SD1_MAP = """
            {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
             "pad_token": "<|endoftext|>"}
            """;
    /** As stabilityai/stable-diffusion-2: pad is "!", written as an AddedToken object. */
    static final String SD2_MAP = """
            {"bos_token": {"content": "<|startoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
             "eos_token": {"content": "<|endoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
             "pad_token": "!",
             "unk_token": {"content": "<|endoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false}}
            """;

    private TinyTokenizerFiles() {}

    static Path write(Path dir, String vocab, String merges, String specialMap, String config) throws IOException {
        Files.createDirectories(dir);
        if (vocab != null) Files.writeString(dir.resolve("vocab.json"), vocab, StandardCharsets.UTF_8);
        if (merges != null) Files.writeString(dir.resolve("merges.txt"), merges, StandardCharsets.UTF_8);
        if (specialMap != null) Files.writeString(dir.resolve("special_tokens_map.json"), specialMap, StandardCharsets.UTF_8);
        if (config != null) Files.writeString(dir.resolve("tokenizer_config.json"), config, StandardCharsets.UTF_8);
        return dir;
    }

    static Path sd1(Path dir) throws IOException {
        return write(dir, VOCAB, MERGES_BC_FIRST, SD1_MAP, "{\"model_max_length\": 77}");
    }
}
