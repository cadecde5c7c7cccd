package dev.tav4j.video;

import dev.tav4j.model.video.VideoClip;
import dev.tav4j.model.video.VideoSampling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Reading the official clips (golden/videos; all four with shared/videos): frame count, fps, size and sampled indices. */
class VideoReaderTest {

    static List<String> clips() {
        return TestVideos.all();
    }

    @ParameterizedTest
    @MethodSource("clips")
    void frameCountAndFpsMatchTheContainer(String name) throws Exception {
        Path file = TestVideos.video(name);
        Mp4Boxes boxes = Mp4Boxes.read(file);
        long t0 = System.nanoTime();
        VideoClip clip = VideoReader.read(file, new VideoSampling(64, 48, 3, 0, 1));
        System.out.printf("%s: %d frames at %.3f fps decoded and sampled in %.0f ms%n", name, clip.sourceFrameCount(), clip.fps(), (System.nanoTime() - t0) / 1e6);
        assertEquals(boxes.videoSamples(), clip.sourceFrameCount(), name + " frame count vs the stsz box");
        assertEquals(boxes.videoSamples() / boxes.videoSeconds(), clip.fps(), 0.01 * clip.fps(), name + " fps vs stsz/mdhd");
        assertEquals(3, clip.frames().size());
        assertEquals(64, clip.width());
        assertEquals(48, clip.height());
        for (BufferedImage f : clip.frames()) assertEquals(64, f.getWidth());
    }

    @Test
    void sampledFramesAreTheFramesAtStartPlusMultiplesOfRate() {
        Path file = TestVideos.video("man-skiing.mp4");  // 91 frames; the skier moves
        VideoClip all = VideoReader.read(file, new VideoSampling(32, 32, 20, 0, 1));
        VideoClip sampled = VideoReader.read(file, new VideoSampling(32, 32, 4, 3, 5));
        assertArrayEquals(new int[]{3, 8, 13, 18}, sampled.sampledIndices());
        for (int k = 0; k < 4; k++)
            assertEquals(0, meanAbs(all.frames().get(3 + 5 * k), sampled.frames().get(k)), "sampled frame " + k + " is source frame " + (3 + 5 * k));
        assertNotEquals(0, meanAbs(all.frames().get(3), all.frames().get(8)), "consecutive samples differ (the clip moves)");
    }

    @Test
    void toPixelsMapsBytesToMinusOneOne() {
        VideoClip clip = VideoReader.read(TestVideos.video("car-turn.mp4"), new VideoSampling(16, 8, 2, 0, 1));
        try (var pixels = clip.toPixels()) {
            assertArrayEquals(new int[]{2, 8, 16, 3}, pixels.shape());
            int rgb = clip.frames().get(1).getRGB(5, 7);
            long o = ((8L + 7) * 16 + 5) * 3;
            assertEquals(((rgb >> 16) & 255) / 127.5f - 1f, pixels.get(o), 0f);
            assertEquals((rgb & 255) / 127.5f - 1f, pixels.get(o + 2), 0f);
        }
    }

    static double meanAbs(BufferedImage a, BufferedImage b) {
        assertEquals(a.getWidth(), b.getWidth());
        assertEquals(a.getHeight(), b.getHeight());
        long sum = 0;
        for (int y = 0; y < a.getHeight(); y++)
            for (int x = 0; x < a.getWidth(); x++) {
                int p = a.getRGB(x, y), q = b.getRGB(x, y);
                for (int s = 0; s <= 16; s += 8) sum += Math.abs(((p >> s) & 255) - ((q >> s) & 255));
            }
        return sum / (3.0 * a.getWidth() * a.getHeight());
    }
}
