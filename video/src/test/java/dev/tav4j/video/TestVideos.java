package dev.tav4j.video;

import dev.tav4j.model.golden.GoldenData;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The official repository's clips: the repository's golden/videos (man-skiing, car-turn), then shared/videos beside
 * ../shared/golden and the folders of $TAV_GOLDEN (GoldenData). A clip no folder has: the test is skipped, or fails
 * when {@code TAV_GOLDEN_REQUIRED=1}.
 */
final class TestVideos {
    private TestVideos() {}

    /** The clips the repository's copy always has; the readers' tests run on these at least. */
    static final Set<String> IN_REPOSITORY = Set.of("man-skiing.mp4", "car-turn.mp4");

    static Path video(String name) {
        return GoldenData.video(name);
    }

    /** Every clip found (the repository's two, the four of shared/videos where it is there), by name. */
    static List<String> all() {
        Set<String> names = GoldenData.videos().keySet();
        if (!names.containsAll(IN_REPOSITORY)) throw new AssertionError("the repository's clips " + IN_REPOSITORY + " not found, only " + names);
        return List.copyOf(names);
    }
}
