package dev.tav4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

class ConsoleProgressTest {
    private static String run(boolean terminal, int total) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ConsoleProgress p = new ConsoleProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), terminal);
        for (int i = 1; i <= total; i++) {
            p.metric("loss", 0.5);
            p.step("tune", i, total);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test void logOutputHasWholeLinesAtEveryTenthAndNoCarriageReturn() {
        String log = run(false, 50);
        assertFalse(log.contains("\r"), log);
        String[] lines = log.split("\n");
        assertEquals(11, lines.length, log); // step 1, then 5, 10, ..., 50
        assertTrue(lines[0].startsWith("tune    [") && lines[0].contains(" 1/50  loss 0.500000"), lines[0]);
        assertTrue(lines[10].contains(" 50/50 "), lines[10]);
    }

    @Test void terminalOutputRedrawsOneLine() {
        String tty = run(true, 3);
        assertEquals(3, tty.chars().filter(c -> c == '\r').count(), tty);
        assertTrue(tty.endsWith("\n") && tty.indexOf('\n') == tty.length() - 1, tty);
    }

    @Test void timingLineComesOnceBeforeTheFirstStepOnly() {
        for (boolean terminal : new boolean[] {false, true}) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ConsoleProgress p = new ConsoleProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), terminal).timing(true);
            for (int i = 1; i <= 3; i++) p.step("edit", i, 3);
            String out = bytes.toString(StandardCharsets.UTF_8);
            assertTrue(out.startsWith("timing: first edit step done "), out);
            assertEquals(1, out.split("timing:", -1).length - 1, out);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ConsoleProgress p = new ConsoleProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
        p.step("edit", 1, 1);
        assertFalse(bytes.toString(StandardCharsets.UTF_8).contains("timing:"));
    }

    @Test void timingCountsFromTheProcessStartAndSaysWhenTheJvmStarted() {
        Instant process = Instant.ofEpochMilli(1_000_000);
        assertEquals("timing: first edit step done 2.50 s after the process started (the JVM started at 0.25 s; 3.10 s of CPU)",
                ConsoleProgress.firstStepLine("edit", process, 1_000_250, 1_002_500, Duration.ofMillis(3100)));
        assertEquals("timing: first edit step done 2.50 s after the process started (the JVM started at 0.25 s)",
                ConsoleProgress.firstStepLine("edit", process, 1_000_250, 1_002_500, null));
        assertEquals("timing: first edit step done 2.25 s after the JVM started (3.10 s of CPU)",
                ConsoleProgress.firstStepLine("edit", null, 1_000_250, 1_002_500, Duration.ofMillis(3100)));
    }
}
