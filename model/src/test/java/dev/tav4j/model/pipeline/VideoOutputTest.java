package dev.tav4j.model.pipeline;

import dev.tav4j.model.video.SyntheticClip;
import dev.tav4j.model.video.VideoFileWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The model module alone (no tav4j-video, no FFmpeg): GIFs are written, .mp4 is refused with what to add. */
class VideoOutputTest {
    @TempDir Path dir;

    @Test
    void writesGifWithoutFfmpeg() {
        Path gif = dir.resolve("ball.gif");
        VideoOutput.write(gif, SyntheticClip.movingBall(3, 32, 32), 8);
        assertTrue(Files.isRegularFile(gif));
    }

    @Test
    void mp4NeedsTheVideoModule() {
        assertTrue(VideoFileWriter.forExtension("mp4").isEmpty(), "no MP4 writer on the model module's test class path");
        Path mp4 = dir.resolve("ball.mp4");
        var e = assertThrows(IllegalStateException.class, () -> VideoOutput.write(mp4, SyntheticClip.movingBall(2, 32, 32), 8));
        assertTrue(e.getMessage().contains("tav4j-video"), e.getMessage());
        assertFalse(Files.exists(mp4));
        assertThrows(IllegalArgumentException.class, () -> VideoOutput.write(dir.resolve("ball.avi"), SyntheticClip.movingBall(2, 32, 32), 8));
    }
}
