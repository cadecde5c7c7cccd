package dev.tav4j.cli;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzzes the reader of the official Tune-A-Video YAML configs ({@link TuneConfig#read}, through Jackson's YAML
 * parser and {@link YamlSection}) on arbitrary file contents. Contract (what {@code tav run} turns into one
 * {@code tav:} line): {@link IllegalArgumentException} whose message names the file, nothing else.
 * Seeds: {@code TuneConfigFuzzTestInputs/read} (configs in the official configs/*.yaml style, and broken ones).
 */
class TuneConfigFuzzTest {
    private static final Path FILE = scratch();

    @FuzzTest
    void read(byte[] data) throws IOException {
        Files.write(FILE, data);
        try {
            TuneConfig.read(FILE);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() == null || !e.getMessage().contains(FILE.toString()))
                throw new AssertionError("message does not name the file " + FILE + ": " + e.getMessage(), e);
        }
    }

    private static Path scratch() {
        try {
            Path dir = Files.createTempDirectory("tav-fuzz");
            Path file = dir.resolve("config.yaml");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                file.toFile().delete();
                dir.toFile().delete();
            }));
            return file;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
