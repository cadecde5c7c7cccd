package dev.tav4j.model.video;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * A writer of a video format this module does not encode itself, found through {@link ServiceLoader}: the model
 * module writes GIFs in pure Java ({@link GifWriter}); MP4 needs FFmpeg, which only the {@code tav4j-video} module
 * brings (its {@code Mp4Output}). {@code VideoOutput} uses it for {@code .mp4} files.
 */
public interface VideoFileWriter {
    /** The file extension written, lower case without the dot ({@code "mp4"}). */
    String extension();

    /** Writes {@code frames} (RGB, one size) at {@code fps} frames per second; the file appears whole or not at all. */
    void write(Path file, List<BufferedImage> frames, double fps) throws IOException;

    /** The provider for {@code extension} (any case, no dot) on the class or module path, if one is there. */
    static Optional<VideoFileWriter> forExtension(String extension) {
        String ext = extension.toLowerCase(Locale.ROOT);
        return ServiceLoader.load(VideoFileWriter.class, VideoFileWriter.class.getClassLoader()).stream()
                .map(ServiceLoader.Provider::get).filter(w -> w.extension().equals(ext)).findFirst();
    }
}
