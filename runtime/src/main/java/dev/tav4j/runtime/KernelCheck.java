package dev.tav4j.runtime;

import java.nio.file.Path;
import java.util.List;

/**
 * The self-check of a backend's kernels against the CPU reference on this device, in seconds on small shapes
 * ({@code tav doctor}, and the first use of a GPU): a kernel family that fails and has a fallback is switched to it
 * with a warning; one without stops the run. Results are cached per device, kernel build and precision in a folder
 * the caller gives. Backends whose kernels are the reference (cpu) have none: {@link Ops#kernelCheck()} is empty.
 */
public interface KernelCheck {
    /** The check of one device in one precision. */
    interface Report {
        /** The device checked (its one-line description). */
        String device();

        DType precision();

        /** One line per kernel family: family, precision, ok/FAIL, error, tolerance, kernels (or why it could not run). */
        List<String> lines();

        /** How many families failed. */
        int failures();

        /** Whether every family passed. */
        default boolean passed() { return failures() == 0; }

        /** Whether the report was read from the cache rather than run now. */
        boolean cached();

        /** Seconds the check took (0 when cached). */
        double seconds();
    }

    /** The report cached in {@code cacheDir} unless {@code recheck}, else the check run now and cached (seconds). */
    Report check(DType precision, Path cacheDir, boolean recheck);

    /** Where {@link #check} caches the report of {@code precision} in {@code cacheDir}. */
    Path cacheFile(DType precision, Path cacheDir);

    /**
     * Applies a report of this backend's device: each failed family with a fallback is switched to it (one warning line
     * each, returned); throws {@link IllegalStateException} (one line) when a family without a fallback failed.
     */
    List<String> apply(Report report);
}
