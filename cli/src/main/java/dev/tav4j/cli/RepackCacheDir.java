package dev.tav4j.cli;

import java.util.function.Consumer;

/**
 * Where the CLI caches weights repacked into the engine's layouts (docs/memory.md): {@code TAV_REPACK_CACHE} (a
 * folder, or {@code off}), else {@code repacked/} in tav4j's cache folder ({@code $XDG_CACHE_HOME/tav4j} or
 * {@code ~/.cache/tav4j}); the folder itself is {@link CliEnvironment#repackCache()}.
 */
final class RepackCacheDir {
    private RepackCacheDir() {}

    /** What the cache reports (a file written, or why it could not be used): one line each. */
    static final Consumer<String> WARN = w -> System.err.println("tav: " + w);
}
