package dev.tav4j.model.pipeline;

import dev.tav4j.model.video.GifWriter;
import dev.tav4j.model.video.VideoFileWriter;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes frames as .gif or .mp4 by the file name (both atomic). GIF is written here in pure Java; MP4 by the
 * {@link VideoFileWriter} of the tav4j-video module (FFmpeg), which must then be on the class or module path.
 */
public final class VideoOutput {
    private VideoOutput() {}

    public static void write(Path file, List<BufferedImage> frames, int fps) {
        String name = file.getFileName().toString().toLowerCase();
        try {
            if (name.endsWith(".gif")) GifWriter.write(file, frames, 1000 / Math.max(1, fps));
            else if (name.endsWith(".mp4")) mp4().write(file, frames, fps);
            else throw new IllegalArgumentException("output " + file + " must end in .gif or .mp4");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static VideoFileWriter mp4() {
        return VideoFileWriter.forExtension("mp4").orElseThrow(() -> new IllegalStateException(
                "writing .mp4 needs FFmpeg, which the dev.tav4j:tav4j-video module brings: add it to the class or module path, or write .gif"));
    }
}
