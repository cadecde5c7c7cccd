package dev.tav4j.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.ConfigException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE tokenizer, with the behaviour of transformers' slow {@code CLIPTokenizer} called as
 * diffusers and Tune-A-Video call it: {@code padding="max_length", max_length=model_max_length (77),
 * truncation=True}. Thread-safe once loaded.
 *
 * <p>Steps: split the raw text on the special tokens (bos, eos, unk, pad: exact, case-sensitive matches, as
 * transformers' added-token trie does; with SD 2.x's pad {@code !} this turns every {@code !} into id 0, as
 * transformers does); clean each other piece ({@link ClipTextCleaner}); cut it with the CLIP regex; map the
 * UTF-8 bytes to the GPT-2 characters; BPE with {@code </w>}; unknown symbols become the unk id. Then
 * {@code [BOS] tokens [EOS]}, prompt tokens beyond {@code maxLength - 2} dropped (with a warning, as diffusers
 * logs), padded with the pad id.
 */
public final class ClipTokenizer {
    private static final Logger LOG = Logger.getLogger(ClipTokenizer.class.getName());
    private static final int DEFAULT_MAX_LENGTH = 77;
    private static final String START = "<|startoftext|>";
    private static final String END = "<|endoftext|>";
    private static final Pattern PRE_TOKEN = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);

    private final Map<String, Integer> vocab;
    private final Map<Integer, String> inverse;
    private final Bpe bpe;
    /** Special token strings, longest first so that a longer one wins at the same position. */
    private final List<String> specials;
    private final int bosId, eosId, padId, unkId, maxLength;

    private ClipTokenizer(Map<String, Integer> vocab, Map<String, Integer> ranks, String bos, String eos,
                          String unk, String pad, int maxLength) {
        this.vocab = vocab;
        this.inverse = new HashMap<>(vocab.size() * 2);
        vocab.forEach((token, id) -> inverse.putIfAbsent(id, token));
        this.bpe = new Bpe(ranks, List.of(START, END));
        List<String> sp = new ArrayList<>(new LinkedHashSet<>(List.of(bos, eos, unk, pad)));
        sp.sort(Comparator.comparingInt(String::length).reversed());
        this.specials = List.copyOf(sp);
        this.bosId = vocab.get(bos);
        this.eosId = vocab.get(eos);
        this.unkId = vocab.get(unk);
        this.padId = vocab.get(pad);
        this.maxLength = maxLength;
    }

    /**
     * Loads {@code vocab.json}, {@code merges.txt} and (optionally) {@code special_tokens_map.json} and
     * {@code tokenizer_config.json} from a diffusers {@code tokenizer/} folder. Special tokens come from the
     * map first, then the config, then CLIP's defaults; each must be in the vocabulary.
     *
     * @throws ConfigException naming the file when a file is missing or malformed
     */
    public static ClipTokenizer load(Path tokenizerDir) {
        if (!Files.isDirectory(tokenizerDir)) {
            throw new ConfigException(tokenizerDir + ": tokenizer folder not found");
        }
        Path vocabFile = tokenizerDir.resolve("vocab.json");
        Path mergesFile = tokenizerDir.resolve("merges.txt");
        Path mapFile = tokenizerDir.resolve("special_tokens_map.json");
        Path configFile = tokenizerDir.resolve("tokenizer_config.json");
        Map<String, Integer> vocab = ClipTokenizerFiles.readVocab(vocabFile);
        Map<String, Integer> ranks = ClipTokenizerFiles.readMerges(mergesFile);
        JsonNode map = ClipTokenizerFiles.readOptional(mapFile);
        JsonNode config = ClipTokenizerFiles.readOptional(configFile);

        String bos = special("bos_token", START, map, mapFile, config, configFile, vocab, vocabFile);
        String eos = special("eos_token", END, map, mapFile, config, configFile, vocab, vocabFile);
        String unk = special("unk_token", END, map, mapFile, config, configFile, vocab, vocabFile);
        String pad = special("pad_token", END, map, mapFile, config, configFile, vocab, vocabFile);
        return new ClipTokenizer(vocab, ranks, bos, eos, unk, pad, maxLength(config, configFile));
    }

    /**
     * OpenAI CLIP's BPE vocabulary and merges as shipped inside the jar (both Stable Diffusion generations use
     * them), with CLIP's special tokens, {@code pad} as the pad token ({@code <|endoftext|>} for SD 1.x, {@code !}
     * for SD 2.x) and 77 ids: the tokenizer of a single-file checkpoint given without a tokenizer folder.
     */
    public static ClipTokenizer builtin(String pad) {
        Map<String, Integer> vocab = ClipTokenizerFiles.parseVocab(BuiltinBpe.json("vocab.json"), BuiltinBpe.where("vocab.json"));
        Map<String, Integer> ranks = ClipTokenizerFiles.parseMerges(BuiltinBpe.text("merges.txt"), BuiltinBpe.where("merges.txt"));
        if (!vocab.containsKey(pad)) throw new ConfigException("pad token '" + pad + "' is not in CLIP's vocabulary");
        return new ClipTokenizer(vocab, ranks, START, END, END, pad, DEFAULT_MAX_LENGTH);
    }

    /**
     * Writes the built-in vocabulary and merges ({@link #builtin}) as a diffusers {@code tokenizer/} folder that
     * {@link #load} reads back as the same tokenizer: vocab.json, merges.txt, special_tokens_map.json (pad {@code pad})
     * and tokenizer_config.json (77 tokens).
     */
    public static void writeBuiltin(Path dir, String pad) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("vocab.json"), BuiltinBpe.text("vocab.json"), java.nio.charset.StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("merges.txt"), BuiltinBpe.text("merges.txt"), java.nio.charset.StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("special_tokens_map.json"), "{\"bos_token\": \"" + START + "\", \"eos_token\": \"" + END
                    + "\", \"unk_token\": \"" + END + "\", \"pad_token\": \"" + pad + "\"}\n");
            Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": " + DEFAULT_MAX_LENGTH
                    + ", \"tokenizer_class\": \"CLIPTokenizer\", \"do_lower_case\": true}\n");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write the tokenizer to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String special(String key, String dflt, JsonNode map, Path mapFile, JsonNode config,
                                  Path configFile, Map<String, Integer> vocab, Path vocabFile) {
        String token = ClipTokenizerFiles.specialToken(map, key, mapFile);
        Path from = mapFile;
        if (token == null) {
            token = ClipTokenizerFiles.specialToken(config, key, configFile);
            from = configFile;
        }
        if (token == null) {
            token = dflt;
            from = null;
        }
        if (token.isEmpty()) throw new ConfigException(from + ": '" + key + "' is empty");
        if (!vocab.containsKey(token)) {
            throw new ConfigException(vocabFile + ": " + key + " '" + token + "'"
                    + (from == null ? " (CLIP's default)" : " (from " + from.getFileName() + ")")
                    + " is not in the vocabulary");
        }
        return token;
    }

    /** {@code model_max_length} of tokenizer_config.json; transformers' "unset" sentinel (1e30) means 77. */
    private static int maxLength(JsonNode config, Path configFile) {
        JsonNode v = config == null ? null : config.get("model_max_length");
        if (v == null || v.isNull()) return DEFAULT_MAX_LENGTH;
        if (!v.isNumber()) throw new ConfigException(configFile + ": 'model_max_length' is not a number: " + v);
        double d = v.asDouble();
        if (d > 1e9) return DEFAULT_MAX_LENGTH;
        if (d < 2 || d != Math.rint(d)) {
            throw new ConfigException(configFile + ": 'model_max_length' must be an integer >= 2, got " + v);
        }
        return (int) d;
    }

    /** The {@link #maxLength()} ids of a prompt; see {@link #encodeWithInfo}. */
    public int[] encode(String prompt) {
        return encodeWithInfo(prompt).ids();
    }

    /**
     * Encodes a prompt to exactly {@link #maxLength()} ids. A prompt with more than {@code maxLength - 2}
     * tokens keeps its first {@code maxLength - 2} (the last id is then EOS, as transformers truncates), and a
     * WARNING names what was dropped.
     */
    public Tokenized encodeWithInfo(String prompt) {
        if (prompt == null) throw new IllegalArgumentException("prompt is null");
        List<Integer> tokens = tokenIds(prompt);
        int room = maxLength - 2;
        int dropped = Math.max(0, tokens.size() - room);
        String droppedText = "";
        if (dropped > 0) {
            droppedText = decode(tokens.subList(room, tokens.size()));
            // one short line: how many were dropped and how the dropped part starts (not all of it)
            String head = decode(tokens.subList(room, Math.min(tokens.size(), room + 8))).strip();
            LOG.warning("prompt truncated to CLIP's " + maxLength + " tokens: " + dropped + " token" + (dropped == 1 ? "" : "s")
                    + " dropped, starting \"" + head + (dropped > 8 ? " …" : "") + "\"");
        }
        int[] ids = new int[maxLength];
        Arrays.fill(ids, padId);
        ids[0] = bosId;
        int n = Math.min(room, tokens.size());
        for (int i = 0; i < n; i++) ids[1 + i] = tokens.get(i);
        ids[1 + n] = eosId;
        return new Tokenized(ids, dropped > 0, dropped, droppedText);
    }

    /** The prompt's token ids without BOS/EOS, padding or truncation. */
    public List<Integer> tokenIds(String prompt) {
        List<Integer> out = new ArrayList<>();
        int start = 0, i = 0;
        while (i < prompt.length()) {
            String special = specialAt(prompt, i);
            if (special == null) {
                i++;
                continue;
            }
            tokenizePiece(prompt.substring(start, i), out);
            out.add(vocab.get(special));
            i += special.length();
            start = i;
        }
        tokenizePiece(prompt.substring(start), out);
        return out;
    }

    private String specialAt(String text, int pos) {
        for (String s : specials) {
            if (text.startsWith(s, pos)) return s;
        }
        return null;
    }

    private void tokenizePiece(String piece, List<Integer> out) {
        if (piece.isEmpty()) return;
        Matcher m = PRE_TOKEN.matcher(ClipTextCleaner.clean(piece));
        while (m.find()) {
            for (String symbol : bpe.apply(ByteUnicode.encode(m.group()))) {
                out.add(vocab.getOrDefault(symbol, unkId));
            }
        }
    }

    /** Ids back to text, as transformers' {@code convert_tokens_to_string}: {@code </w>} becomes a space. */
    public String decode(List<Integer> ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            String token = inverse.get(id);
            if (token != null) sb.append(token);
        }
        return ByteUnicode.decode(sb.toString()).replace(Bpe.END_OF_WORD, " ").strip();
    }

    public int padId() { return padId; }

    public int bosId() { return bosId; }

    public int eosId() { return eosId; }

    public int unkId() { return unkId; }

    /** Length of every encoded prompt (BOS and EOS included): {@code model_max_length}, 77 for CLIP. */
    public int maxLength() { return maxLength; }

    public int vocabSize() { return vocab.size(); }
}
