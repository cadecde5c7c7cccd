package dev.tav4j.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Token ids of the golden prompts must match transformers' CLIPTokenizer exactly. */
class ClipTokenizerGoldenTest {

    @Test
    void goldenPromptsMatchExactly() throws Exception {
        Path caseDir = GoldenRoot.require().resolve("cases/a-tokenize");
        JsonNode spec = new ObjectMapper().readTree(caseDir.resolve("case.json").toFile());
        assertEquals("tokenize", spec.path("op").asText());
        ClipTokenizer tok = ClipTokenizer.load(modelDir(caseDir, spec.get("model").asText()).resolve("tokenizer"));
        List<String> prompts = new ArrayList<>();
        spec.get("prompts").forEach(p -> prompts.add(p.asText()));

        MiniSafetensors.I64Tensor ref = MiniSafetensors.readI64(caseDir.resolve("tensors.safetensors"), "input_ids");
        assertArrayEquals(new long[] {prompts.size(), tok.maxLength()}, ref.shape(), "input_ids shape");

        int width = tok.maxLength();
        List<String> failures = new ArrayList<>();
        for (int p = 0; p < prompts.size(); p++) {
            int[] got = tok.encode(prompts.get(p));
            int mismatch = -1;
            for (int j = 0; j < width && mismatch < 0; j++) {
                if (got[j] != ref.data()[p * width + j]) mismatch = j;
            }
            String label = "prompt " + p + " " + abbreviate(prompts.get(p));
            if (mismatch < 0) {
                System.out.println("[a-tokenize] ok        " + label);
            } else {
                String line = "[a-tokenize] MISMATCH  " + label + ": first at position " + mismatch
                        + ", got " + got[mismatch] + ", expected " + ref.data()[p * width + mismatch];
                System.out.println(line);
                failures.add(line);
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    void overLongGoldenPromptIsFlaggedAsTruncated() {
        ClipTokenizer tok = ClipTokenizer.load(GoldenRoot.require().resolve("models/tiny-sd-a/tokenizer"));
        String phrase = "a very long prompt that keeps going";
        String prompt = String.join(" ", Collections.nCopies(12, phrase));
        Tokenized t = tok.encodeWithInfo(prompt);
        assertTrue(t.truncated());
        // 12 × 7 words = 84 tokens; 75 fit between BOS and EOS
        assertEquals(84 - 75, t.droppedTokens());
        assertEquals("keeps going " + phrase, t.droppedText());
        assertEquals(tok.eosId(), t.ids()[76]);
    }

    /**
     * case.json's "model" ("../models/tiny-sd-a") resolves from the cases/ folder in the stored layout, though the
     * README says relative to the case: accept either.
     */
    private static Path modelDir(Path caseDir, String model) {
        Path fromCase = caseDir.resolve(model).normalize();
        return Files.isDirectory(fromCase) ? fromCase : caseDir.getParent().resolve(model).normalize();
    }

    private static String abbreviate(String s) {
        String one = s.replace("\n", "\\n").replace("\t", "\\t");
        return "\"" + (one.length() <= 48 ? one : one.substring(0, 45) + "...") + "\"";
    }
}
