package dev.tav4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

/** The launcher's AOT training commands run and succeed (a failing one would leave every user without the cache). */
class AotTrainingTest {
    @Test void everyTrainingCommandSucceeds(@TempDir Path dir) {
        for (String[] command : AotTraining.commands(dir.resolve("demo"))) {
            Tav.Run r = Tav.run(command);
            assertEquals(0, r.code(), String.join(" ", command) + ": " + r.all());
        }
        assertTrue(Files.exists(dir.resolve("demo").resolve("edited.gif")), "the demo wrote its GIF");
    }
}
