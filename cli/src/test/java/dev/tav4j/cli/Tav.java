package dev.tav4j.cli;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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

    static Path golden() {
        String env = System.getenv("TAV_GOLDEN");
        return Path.of(env != null && !env.isBlank() ? env : System.getProperty("tav.golden.default", "../shared/golden")).toAbsolutePath();
    }

    /** The golden tiny SD checkpoint (a complete diffusers folder); skips the test where the golden data is absent. */
    static Path tinyModel() {
        return required(golden().resolve("models/tiny-sd-a"), "golden model");
    }

    /** One of the official clips, next to the golden folder (shared/videos). */
    static Path video(String name) {
        return required(golden().getParent().resolve("videos").resolve(name), "test video");
    }

    private static Path required(Path p, String what) {
        if (!Files.exists(p)) {
            if ("1".equals(System.getenv("TAV_GOLDEN_REQUIRED"))) Assertions.fail(what + " missing at " + p);
            Assumptions.abort(what + " not found at " + p + "; set TAV_GOLDEN to run the CLI tuning tests");
        }
        return p;
    }

    /** {@code p} as a path relative to the current directory (what a config with relative paths holds). */
    static String relative(Path p) {
        return Path.of("").toAbsolutePath().relativize(p.toAbsolutePath()).toString();
    }
}
