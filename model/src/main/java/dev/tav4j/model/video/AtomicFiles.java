package dev.tav4j.model.video;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;

/**
 * Outputs that appear whole or not at all: written under a hidden temporary name beside the target, then moved. Public
 * for the video module's MP4 writer; GIF and MP4 outputs share it.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** What writes the temporary file (created by the writer itself, so it gets the usual permissions). */
    public interface Body {
        void write(Path tmp) throws IOException;
    }

    public static void write(Path file, Body body) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + file.getFileName() + "." + UUID.randomUUID().toString().substring(0, 8) + ".part");
        try {
            body.write(tmp);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
