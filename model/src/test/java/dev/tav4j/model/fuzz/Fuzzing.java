package dev.tav4j.model.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * What every fuzz target of this module checks (docs/fuzzing.md): a bad input fails with the reader's documented
 * exception, whose message names the file; anything else (another exception type, a message without the file,
 * a hang caught by Jazzer's timeout, or heap allocation far beyond the input's size) is a finding.
 */
public final class Fuzzing {
    private Fuzzing() {}

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final Path DIR = scratch();

    /** {@code data} written to {@code name} in this JVM's scratch folder (the same file each call, rewritten). */
    public static Path file(String name, byte[] data) {
        try {
            return Files.write(DIR.resolve(name), data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Fails (a finding) when the documented exception {@code e} does not name {@code file}. */
    public static void requireNamesFile(RuntimeException e, Path file) {
        String m = e.getMessage();
        if (m == null || !m.contains(file.toString()))
            throw new AssertionError("message does not name the file " + file + ": " + m, e);
    }

    /** Heap bytes this thread has allocated so far (HotSpot's per-thread counter). */
    public static long allocated() {
        return THREADS.getCurrentThreadAllocatedBytes();
    }

    /** Fails when more than {@code limit} heap bytes were allocated since {@code before}. */
    public static void requireAllocatedBelow(long before, long limit, String what) {
        long used = allocated() - before;
        if (used > limit)
            throw new AssertionError(what + " allocated " + used + " heap bytes (limit " + limit + ")");
    }

    private static Path scratch() {
        try {
            Path dir = Files.createTempDirectory("tav-fuzz");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir)));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a leftover scratch folder in the temp dir is harmless
        }
    }
}
