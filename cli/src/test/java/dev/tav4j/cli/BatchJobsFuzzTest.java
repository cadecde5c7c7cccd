package dev.tav4j.cli;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Fuzzes the jobs-file reader of {@code tav batch} ({@link BatchJobs#read}, YAML or CSV, then each job's config as
 * {@link TuneConfig}) on arbitrary contents; the first byte picks the format ('C': CSV, else YAML). Contract (what
 * {@code tav batch} turns into one {@code tav:} line): {@link IllegalArgumentException} whose message names the file.
 * Seeds: {@code BatchJobsFuzzTestInputs/read}.
 */
class BatchJobsFuzzTest {
    private static final Path DIR = scratch();

    @FuzzTest
    void read(byte[] data) throws IOException {
        if (data.length == 0) return;
        Path file = DIR.resolve(data[0] == 'C' ? "jobs.csv" : "jobs.yaml");
        Files.write(file, java.util.Arrays.copyOfRange(data, 1, data.length));
        try {
            BatchJobs jobs = BatchJobs.read(file, null, null);
            for (BatchJobs.Job j : jobs.jobs()) TuneConfig.of(j.config(), file + ", job '" + j.id() + "'", Map.of());
        } catch (IllegalArgumentException e) {
            if (e.getMessage() == null || !e.getMessage().contains(file.toString()))
                throw new AssertionError("message does not name the file " + file + ": " + e.getMessage(), e);
        }
    }

    private static Path scratch() {
        try {
            Path dir = Files.createTempDirectory("tav-fuzz-batch");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                for (String n : new String[]{"jobs.csv", "jobs.yaml"}) dir.resolve(n).toFile().delete();
                dir.toFile().delete();
            }));
            return dir;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
