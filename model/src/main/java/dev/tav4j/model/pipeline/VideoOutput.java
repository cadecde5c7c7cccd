package dev.tav4j.model.pipeline;

import dev.tav4j.model.video.GifWriter;
import dev.tav4j.model.video.Mp4Writer;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/** Writes frames as .gif or .mp4 by the file name (both atomic). */
public final class VideoOutput {
    private VideoOutput() {}

    public static void write(Path file, List<BufferedImage> frames, int fps) {
        String name = file.getFileName().toString().toLowerCase();
        try {
            if (name.endsWith(".gif")) GifWriter.write(file, frames, 1000 / Math.max(1, fps));
            else if (name.endsWith(".mp4")) Mp4Writer.write(file, frames, fps);
            else throw new IllegalArgumentException("output " + file + " must end in .gif or .mp4");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
