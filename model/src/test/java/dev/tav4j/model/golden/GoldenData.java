package dev.tav4j.model.golden;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where the golden reference data lives and what cases it holds. The root is {@code $TAV_GOLDEN}, else system
 * property {@code tav.golden}, else {@code tav.golden.default} (set by the parent pom to ../shared/golden).
 * When the root is missing the calling test is skipped (visible as skipped, with the path), or fails when
 * {@code TAV_GOLDEN_REQUIRED=1}.
 */
public final class GoldenData {
    private GoldenData() {}

    /** The configured golden root, whether or not it exists. */
    public static Path configuredRoot() {
        String env = System.getenv("TAV_GOLDEN");
        if (env != null && !env.isBlank()) return Path.of(env);
        String prop = System.getProperty("tav.golden");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        String dflt = System.getProperty("tav.golden.default");
        return Path.of(dflt != null && !dflt.isBlank() ? dflt : "../shared/golden");
    }

    /** The golden root; skips (or, with TAV_GOLDEN_REQUIRED=1, fails) the calling test when it is not there. */
    public static Path root() {
        Path root = configuredRoot().toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            if ("1".equals(System.getenv("TAV_GOLDEN_REQUIRED")))
                Assertions.fail("golden data not found at " + root + " and TAV_GOLDEN_REQUIRED=1; set TAV_GOLDEN to the golden folder");
            Assumptions.abort("golden data not found at " + root + "; set TAV_GOLDEN to run the parity suite");
        }
        return root;
    }

    /** {@code root()/models}. */
    public static Path models() { return root().resolve("models"); }

    /** Every {@code cases/NAME/case.json}, sorted by name. */
    public static List<GoldenCase> cases() {
        Path cases = root().resolve("cases");
        if (!Files.isDirectory(cases)) return List.of();
        try (Stream<Path> dirs = Files.list(cases)) {
            return dirs.filter(d -> Files.isRegularFile(d.resolve("case.json"))).sorted().map(GoldenCase::load).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list golden cases in " + cases, e);
        }
    }

    /** The cases whose op is {@code op} (e.g. "vae", "unet3d"); skips the calling test when there are none. */
    public static List<GoldenCase> cases(String op) {
        List<GoldenCase> all = cases().stream().filter(c -> c.op().equals(op)).toList();
        Assumptions.assumeFalse(all.isEmpty(), "no golden case with op '" + op + "' under " + root());
        return all;
    }

    /** The case named {@code name}; skips when the root is missing, fails when the root exists but the case does not. */
    public static GoldenCase named(String name) {
        Path dir = root().resolve("cases").resolve(name);
        Assertions.assertTrue(Files.isRegularFile(dir.resolve("case.json")), "golden case not found: " + dir.resolve("case.json"));
        return GoldenCase.load(dir);
    }
}
