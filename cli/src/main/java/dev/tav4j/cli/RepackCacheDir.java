package dev.tav4j.cli;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Where the CLI caches weights repacked into the engine's layouts (docs/memory.md): {@code TAV_REPACK_CACHE} (a
 * folder, or {@code off}), else {@code repacked/} in tav4j's cache folder ({@code $XDG_CACHE_HOME/tav4j} or
 * {@code ~/.cache/tav4j}).
 */
final class RepackCacheDir {
    private RepackCacheDir() {}

    /** The folder, or null when caching is off. */
    static Path get() {
        String v = System.getenv("TAV_REPACK_CACHE");
        if (v != null && !v.isBlank()) return v.equalsIgnoreCase("off") || v.equals("0") ? null : Path.of(v);
        return DoctorCommand.defaultCacheDir().resolve("repacked");
    }

    /** What the cache reports (a file written, or why it could not be used): one line each. */
    static final Consumer<String> WARN = w -> System.err.println("tav: " + w);
}
