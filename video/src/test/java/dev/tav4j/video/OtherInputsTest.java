package dev.tav4j.video;

import dev.tav4j.model.video.GifWriter;
import dev.tav4j.model.video.SyntheticClip;
import dev.tav4j.model.video.VideoClip;
import dev.tav4j.model.video.VideoSampling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** GIF and image-folder inputs, read through the same FFmpeg path as videos. */
class OtherInputsTest {
    @TempDir Path dir;

    @Test
    void gifInput() throws Exception {
        List<BufferedImage> frames = SyntheticClip.movingBall(6, 64, 64);
        Path gif = dir.resolve("ball.gif");
        GifWriter.write(gif, frames, 100);
        VideoClip clip = VideoReader.read(gif, new VideoSampling(64, 64, 3, 1, 2));
        assertEquals(6, clip.sourceFrameCount());
        assertArrayEquals(new int[]{1, 3, 5}, clip.sampledIndices());
        assertEquals(10.0, clip.fps(), 0.5, "100 ms per frame");
        for (int k = 0; k < 3; k++) {
            // a GIF stores each frame quantised to its palette; FFmpeg's decode must give back exactly what the JDK's reader does
            BufferedImage stored = GifWriterTest.readAll(gif).get(1 + 2 * k);
            assertEquals(0, VideoReaderTest.meanAbs(stored, clip.frames().get(k)), "GIF frame " + (1 + 2 * k) + " decodes to its palette image");
        }
        assertNotEquals(0, VideoReaderTest.meanAbs(clip.frames().get(0), clip.frames().get(1)), "the frames differ (the ball moves)");
    }

    @Test
    void imageFolderIsSortedByNameAndSampled() throws Exception {
        List<BufferedImage> frames = SyntheticClip.movingBall(5, 48, 40);
        Path folder = Files.createDirectory(dir.resolve("frames"));
        for (int i = 0; i < 5; i++) ImageIO.write(frames.get(i), "png", folder.resolve("f" + i + ".png").toFile());
        Files.writeString(folder.resolve("notes.txt"), "not an image");
        VideoClip clip = VideoReader.read(folder, new VideoSampling(48, 40, 2, 1, 2));
        assertEquals(5, clip.sourceFrameCount());
        assertEquals(0.0, clip.fps());
        assertArrayEquals(new int[]{1, 3}, clip.sampledIndices());
        assertEquals(0, VideoReaderTest.meanAbs(frames.get(1), clip.frames().get(0)), "PNG at its own size comes back exact");
        assertEquals(0, VideoReaderTest.meanAbs(frames.get(3), clip.frames().get(1)));
    }

    @Test
    void imageFolderResizesPngAndJpeg() throws Exception {
        List<BufferedImage> frames = SyntheticClip.movingBall(2, 64, 64);
        Path folder = Files.createDirectory(dir.resolve("mixed"));
        ImageIO.write(frames.get(0), "png", folder.resolve("a.png").toFile());
        ImageIO.write(frames.get(1), "jpg", folder.resolve("b.JPG").toFile());
        VideoClip clip = VideoReader.read(folder, new VideoSampling(32, 16, 2, 0, 1));
        assertEquals(32, clip.width());
        assertEquals(16, clip.height());
        // the ball's red survives resizing in both files
        for (BufferedImage f : clip.frames()) assertTrue(hasRed(f), "resized frame keeps the red ball");
    }

    private static boolean hasRed(BufferedImage img) {
        for (int y = 0; y < img.getHeight(); y++)
            for (int x = 0; x < img.getWidth(); x++) {
                int p = img.getRGB(x, y);
                if (((p >> 16) & 255) > 180 && ((p >> 8) & 255) < 110 && (p & 255) < 100) return true;
            }
        return false;
    }
}
