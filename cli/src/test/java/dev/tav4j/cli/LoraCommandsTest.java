package dev.tav4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.tav4j.cli.SingleFileCommandsTest.*;
import static org.junit.jupiter.api.Assertions.*;

/** {@code --lora} for edit and tune, and the {@code lora:} list of {@code tav run}, end to end on the tiny model. */
class LoraCommandsTest {
    @Test void editWithLoraChangesTheEdit(@TempDir Path dir) throws Exception {
        Path lora = LoraCliTest.goldenLora(), tuned = dir.resolve("t");
        Tav.Run r = tune(Tav.tinyModel(), tuned);
        assertEquals(0, r.code(), r.err());
        Path plain = dir.resolve("plain.gif"), with = dir.resolve("lora.gif");
        assertEquals(0, edit(Tav.tinyModel(), tuned, plain).code());
        r = edit(Tav.tinyModel(), tuned, with, "--lora", lora + ":0.75");
        assertEquals(0, r.code(), r.err());
        // not compared with a premerged --model: with --tuned that differs (open question, see the sf-commands report)
        Gifs.assertDifferentFrames(plain, with, "edit --lora changed nothing");
    }

    @Test void runRefusesABadLoraEntryNamingTheKey(@TempDir Path dir) throws IOException {
        Path cfg = dir.resolve("c.yaml");
        Files.writeString(cfg, yaml(Tav.tinyModel(), dir.resolve("o"), "lora:\n  - {path: \"" + LoraCliTest.goldenLora() + "\", scale: big}"));
        Tav.Run r = Tav.run("run", cfg.toString());
        assertNotEquals(0, r.code());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("tav: ")).count(), r.err());
        assertTrue(r.err().contains(cfg + ":12: lora"), r.err());
    }
}
