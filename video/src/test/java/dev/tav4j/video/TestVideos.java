package dev.tav4j.video;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The official repository's clips ({@code shared/videos}): {@code $TAV_GOLDEN/../videos}, else system property
 * {@code tav.videos}, else {@code tav.golden.default/../videos} (the parent pom's ../shared/golden), else
 * {@code ../shared/videos}. Missing: the test is skipped, or fails when {@code TAV_GOLDEN_REQUIRED=1}.
 */
final class TestVideos {
    private TestVideos() {}

    static Path dir() {
        Path dir = configured().toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            if ("1".equals(System.getenv("TAV_GOLDEN_REQUIRED")))
                Assertions.fail("test videos not found at " + dir + " and TAV_GOLDEN_REQUIRED=1; set TAV_GOLDEN or -Dtav.videos");
            Assumptions.abort("test videos not found at " + dir + "; set TAV_GOLDEN or -Dtav.videos to run the video tests");
        }
        return dir;
    }

    static Path video(String name) {
        Path p = dir().resolve(name);
        Assertions.assertTrue(Files.isRegularFile(p), "test video missing: " + p);
        return p;
    }

    private static Path configured() {
        String env = System.getenv("TAV_GOLDEN");
        if (env != null && !env.isBlank()) return Path.of(env).toAbsolutePath().getParent().resolve("videos");
        String prop = System.getProperty("tav.videos");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        String golden = System.getProperty("tav.golden.default");
        if (golden != null && !golden.isBlank()) return Path.of(golden).toAbsolutePath().getParent().resolve("videos");
        return Path.of("../shared/videos");
    }
}
