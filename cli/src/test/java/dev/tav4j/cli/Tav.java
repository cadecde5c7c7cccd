package dev.tav4j.cli;

import dev.tav4j.model.golden.GoldenData;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Runs the tav command in the test JVM and finds the shared test data (golden tiny checkpoint, official clips). */
final class Tav {
    record Run(int code, String out, String err) {
        String all() { return out + err; }
    }

    private Tav() {}

    static Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** The golden tiny SD checkpoint (a complete diffusers folder), from the golden roots (GoldenData). */
    static Path tinyModel() {
        return GoldenData.model("tiny-sd-a");
    }

    /** The golden tiny CLIP model; skips where no golden root has it (the repository's copy leaves it out). */
    static Path tinyClip() {
        return GoldenData.model("tiny-clip-a");
    }

    /** One of the official clips (golden/videos, or shared/videos beside shared/golden). */
    static Path video(String name) {
        return GoldenData.video(name);
    }

    /** {@code p} as a path relative to the current directory (what a config with relative paths holds). */
    static String relative(Path p) {
        return Path.of("").toAbsolutePath().relativize(p.toAbsolutePath()).toString();
    }
}
