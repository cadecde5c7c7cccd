package dev.tav4j.cli;

import dev.tav4j.runtime.BackendSettings;

import java.nio.file.Path;
import java.util.function.Function;

/**
 * Everything the tav command takes from its process rather than its options, read once per run by {@link Main} (the
 * CLI's one place that reads system properties and environment variables; {@code tav info} also prints JVM facts) and
 * handed to the commands and options that need it. Below the CLI nothing reads the process: the backend gets
 * {@link #backend()} as a value.
 *
 * @param backend           the backend switches ({@link BackendSettings#fromSystem}: -Dtav.cuda.precision, the tensor-core,
 *                          fusion and graph switches, -Dtav.emu.lib, where CUDA libraries are); options may change them
 * @param cacheDir          tav4j's cache folder: {@code $XDG_CACHE_HOME/tav4j}, else {@code ~/.cache/tav4j}
 * @param repackCache       where repacked weights are cached ({@code TAV_REPACK_CACHE}, else cacheDir/repacked); null: off
 * @param debug             {@code -Dtav.debug=true}: print the stack trace of a failed command
 * @param cancelWaitSeconds how long Ctrl-C waits for a tuning job to stop at a step boundary ({@code -Dtav.cancelWaitSeconds})
 * @param ffmpegLog         FFmpeg's own log level ({@code -Dtav.ffmpeg.log}), or null for quiet
 * @param hostPoolBytes     the most host memory kept cached for reuse ({@code -Dtav.hostPoolBytes}), or -1 for the default
 * @param timing            {@code TAV_TIMING=1} (or {@code -Dtav.timing=true}): say when the first step of a progress bar
 *                          was done, counted from the process's start (start-up time, docs/performance.md)
 */
record CliEnvironment(BackendSettings backend, Path cacheDir, Path repackCache, boolean debug, long cancelWaitSeconds,
                      String ffmpegLog, long hostPoolBytes, boolean timing) {
    /** An object picocli makes for the command line (a command, a mixin) that needs the environment. */
    interface Aware {
        void environment(CliEnvironment env);
    }

    /** This process's environment: the one place the CLI reads it. */
    static CliEnvironment read() {
        return from(System::getProperty, System::getenv);
    }

    /** The environment the given properties and variables describe (tests pass maps). */
    static CliEnvironment from(Function<String, String> property, Function<String, String> env) {
        String xdg = env.apply("XDG_CACHE_HOME");
        Path cache = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(String.valueOf(property.apply("user.home")), ".cache"))
                .resolve("tav4j");
        String repack = env.apply("TAV_REPACK_CACHE");
        Path repackCache = repack == null || repack.isBlank() ? cache.resolve("repacked")
                : repack.equalsIgnoreCase("off") || repack.equals("0") ? null : Path.of(repack);
        String wait = property.apply("tav.cancelWaitSeconds");
        String ffmpeg = property.apply("tav.ffmpeg.log");
        return new CliEnvironment(BackendSettings.fromSystem(property, env), cache, repackCache,
                Boolean.parseBoolean(property.apply("tav.debug")), number(wait, 600),
                ffmpeg == null || ffmpeg.isBlank() ? null : ffmpeg, number(property.apply("tav.hostPoolBytes"), -1),
                "1".equals(env.apply("TAV_TIMING")) || Boolean.parseBoolean(property.apply("tav.timing")));
    }

    /** A whole number, or {@code otherwise} when absent or not one. */
    private static long number(String v, long otherwise) {
        try {
            return v == null || v.isBlank() ? otherwise : Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }
}
