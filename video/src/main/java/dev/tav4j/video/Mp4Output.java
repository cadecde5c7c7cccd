package dev.tav4j.video;

import dev.tav4j.model.video.VideoFileWriter;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** {@link Mp4Writer} as the model module's {@link VideoFileWriter} for .mp4 (registered for ServiceLoader). */
public final class Mp4Output implements VideoFileWriter {
    @Override public String extension() { return "mp4"; }

    @Override public void write(Path file, List<BufferedImage> frames, double fps) throws IOException {
        Mp4Writer.write(file, frames, fps);
    }
}
