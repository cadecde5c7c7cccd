package dev.tav4j.model.text;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/** Where the golden data lives: env TAV_GOLDEN, else property tav.golden, else property tav.golden.default. */
final class GoldenRoot {
    private GoldenRoot() {}

    /** The golden root; skips the calling test when absent, unless TAV_GOLDEN_REQUIRED=1 (then fails). */
    static Path require() {
        String p = System.getenv("TAV_GOLDEN");
        if (p == null || p.isBlank()) p = System.getProperty("tav.golden");
        if (p == null || p.isBlank()) p = System.getProperty("tav.golden.default");
        Path root = p == null || p.isBlank() ? null : Path.of(p).toAbsolutePath().normalize();
        if (root == null || !Files.isDirectory(root)) {
            String msg = "golden data not found at " + (root == null ? "<unset>" : root)
                    + "; set TAV_GOLDEN to run the parity suite";
            if ("1".equals(System.getenv("TAV_GOLDEN_REQUIRED"))) fail(msg);
            Assumptions.abort(msg);
        }
        return root;
    }
}
