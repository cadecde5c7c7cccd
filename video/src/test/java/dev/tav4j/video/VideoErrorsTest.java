package dev.tav4j.video;

import dev.tav4j.model.video.SyntheticClip;
import dev.tav4j.model.video.VideoException;
import dev.tav4j.model.video.VideoSampling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Every refusal names the file and says what is wrong. */
class VideoErrorsTest {
    @TempDir Path dir;

    @Test
    void missingFile() {
        Path file = dir.resolve("nope.mp4");
        var e = assertThrows(VideoException.class, () -> VideoReader.read(file, new VideoSampling(64, 64, 2, 0, 1)));
        assertTrue(e.getMessage().contains("not found") && e.getMessage().contains("nope.mp4"), e.getMessage());
    }

    @Test
    void notAVideo() throws Exception {
        Path file = dir.resolve("text.mp4");
        Files.writeString(file, "this is not a video at all\n".repeat(20));
        var e = assertThrows(VideoException.class, () -> VideoReader.read(file, new VideoSampling(64, 64, 2, 0, 1)));
        assertTrue(e.getMessage().contains("text.mp4") && e.getMessage().contains("cannot read"), e.getMessage());
    }

    @Test
    void ffmpegLogsNothingByDefault() throws Exception {
        // a damaged file would make FFmpeg log "moov atom not found" straight to fd 2: the error reaches us as an exception
        Path cut = dir.resolve("cut.mp4");
        Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(TestVideos.video("man-skiing.mp4")), 1000));
        assertThrows(VideoException.class, () -> VideoReader.read(cut, new VideoSampling(64, 64, 2, 0, 1)));
        assertEquals(org.bytedeco.ffmpeg.global.avutil.AV_LOG_QUIET, Ffmpeg.logLevel());
    }

    @Test
    void truncatedVideo() throws Exception {
        Path good = dir.resolve("good.mp4");
        Mp4Writer.write(good, SyntheticClip.movingBall(4, 64, 64), 8);
        byte[] bytes = Files.readAllBytes(good);
        Path cut = dir.resolve("cut.mp4");
        Files.write(cut, java.util.Arrays.copyOf(bytes, 200));
        var e = assertThrows(VideoException.class, () -> VideoReader.read(cut, new VideoSampling(64, 64, 2, 0, 1)));
        assertTrue(e.getMessage().contains("cut.mp4"), e.getMessage());
    }

    @Test
    void tooFewFrames() throws Exception {
        Path file = dir.resolve("short.mp4");
        Mp4Writer.write(file, SyntheticClip.movingBall(8, 64, 64), 8);
        var e = assertThrows(VideoException.class, () -> VideoReader.read(file, new VideoSampling(64, 64, 5, 0, 2)));
        assertTrue(e.getMessage().contains("short.mp4 has 8 frames; sampling start 0 rate 2 needs 9"), e.getMessage());
        var late = assertThrows(VideoException.class, () -> VideoReader.read(file, new VideoSampling(64, 64, 1, 8, 1)));
        assertTrue(late.getMessage().contains("has 8 frames; sampling start 8 rate 1 needs 9"), late.getMessage());
        assertEquals(5, VideoReader.read(file, new VideoSampling(64, 64, 4, 1, 2)).sampledIndices()[2], "the same file fits a smaller sampling");
    }

    @Test
    void tooFewImagesInFolder() throws Exception {
        Path folder = Files.createDirectory(dir.resolve("few"));
        for (int i = 0; i < 3; i++) ImageIO.write(SyntheticClip.movingBall(1, 16, 16).getFirst(), "png", folder.resolve(i + ".png").toFile());
        var e = assertThrows(VideoException.class, () -> VideoReader.read(folder, new VideoSampling(16, 16, 2, 0, 3)));
        assertTrue(e.getMessage().contains("few has 3 frames; sampling start 0 rate 3 needs 4"), e.getMessage());
    }

    @Test
    void emptyFolderAndBrokenImage() throws Exception {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        var e = assertThrows(VideoException.class, () -> VideoReader.read(empty, new VideoSampling(16, 16, 1, 0, 1)));
        assertTrue(e.getMessage().contains("no .png/.jpg/.jpeg images") && e.getMessage().contains("empty"), e.getMessage());
        Path broken = Files.createDirectory(dir.resolve("broken"));
        Files.writeString(broken.resolve("0.png"), "not a png");
        var b = assertThrows(VideoException.class, () -> VideoReader.read(broken, new VideoSampling(16, 16, 1, 0, 1)));
        assertTrue(b.getMessage().contains("0.png"), b.getMessage());
    }

    @Test
    void sizeNotMultipleOfEight() {
        Path file = dir.resolve("any.mp4");
        var e = assertThrows(VideoException.class, () -> VideoReader.read(file, new VideoSampling(130, 128, 2, 0, 1)));
        assertTrue(e.getMessage().contains("any.mp4") && e.getMessage().contains("130x128") && e.getMessage().contains("multiples of 8"), e.getMessage());
        var h = assertThrows(VideoException.class, () -> VideoReader.read(file, new VideoSampling(128, 100, 2, 0, 1)));
        assertTrue(h.getMessage().contains("128x100"), h.getMessage());
    }

    @Test
    void samplingArgumentsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new VideoSampling(64, 64, 0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new VideoSampling(64, 64, 2, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> new VideoSampling(64, 64, 2, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new VideoSampling(0, 64, 2, 0, 1));
    }
}
