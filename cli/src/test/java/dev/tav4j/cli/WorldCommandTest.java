package dev.tav4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code tav world}: files, captions, the recognisers' check, and one-line refusals. */
class WorldCommandTest {
    @Test void writesSamplesAndChecksThem(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("w");
        Tav.Run r = Tav.run("world", "--out", out.toString(), "--count", "5", "--seed", "3", "--size", "32", "--frames", "4", "--check");
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("wrote 5 samples") && r.out().contains("recognisers on these samples: 5 samples (20 frames): shape 100.00%"), r.out());
        List<String> lines = Files.readAllLines(out.resolve("captions.jsonl"));
        assertEquals(5, lines.size());
        JsonNode first = Json.MAPPER.readTree(lines.getFirst());
        assertEquals("00000.gif", first.get("file").asText());
        assertTrue(first.get("caption").asText().matches("an? \\w+ \\w+ is [\\w ]+ on an? \\w+ (gradient |striped )?background"), first.toString());
        assertEquals(4, first.get("centroids").size());
        assertTrue(Files.isRegularFile(out.resolve("00004.gif")) && Files.isRegularFile(out.resolve("masks/00004.png")));
        assertTrue(Files.isRegularFile(out.resolve("world.json")));
        // same seed, same bytes
        Path again = tmp.resolve("again");
        assertEquals(0, Tav.run("world", "--out", again.toString(), "--count", "5", "--seed", "3", "--size", "32", "--frames", "4").code());
        assertEquals(Files.readString(out.resolve("captions.jsonl")), Files.readString(again.resolve("captions.jsonl")));
    }

    @Test void heldOutSplitAndStills(@TempDir Path tmp) throws Exception {
        Tav.Run r = Tav.run("world", "--out", tmp.toString(), "--count", "3", "--frames", "1", "--split", "eval", "--no-masks");
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("(0 train, 3 held-out eval)"), r.out());
        assertTrue(Files.isRegularFile(tmp.resolve("00002.png")));
        for (String l : Files.readAllLines(tmp.resolve("captions.jsonl"))) assertEquals("eval", Json.MAPPER.readTree(l).get("split").asText());
    }

    @Test void badOptionsAreOneLine(@TempDir Path tmp) {
        for (String[] args : new String[][]{
                {"world", "--out", tmp.toString(), "--size", "30"},
                {"world", "--out", tmp.toString(), "--format", "png"},
                {"world", "--out", tmp.toString(), "--split", "test"},
                {"world", "--out", tmp.toString(), "--count", "0"}}) {
            Tav.Run r = Tav.run(args);
            assertEquals(1, r.code(), r.all());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }
}
