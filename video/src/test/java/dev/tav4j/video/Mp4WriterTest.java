package dev.tav4j.video;

import dev.tav4j.model.video.GifWriter;
import dev.tav4j.model.video.SyntheticClip;
import dev.tav4j.model.video.VideoClip;
import dev.tav4j.model.video.VideoSampling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** MP4 out and back in: H.264, frame count, fps, size, colours; atomic and clean on failure. */
class Mp4WriterTest {
    @TempDir Path dir;

    @Test
    void roundTripKeepsFramesSizeFpsAndColours() throws Exception {
        List<BufferedImage> frames = SyntheticClip.movingBall(12, 128, 96);
        Path file = dir.resolve("ball.mp4");
        Mp4Writer.write(file, frames, 8);

        Mp4Boxes boxes = Mp4Boxes.read(file);
        assertEquals("avc1", boxes.sampleEntry(), "H.264 video track (encoder " + Mp4Writer.encoder() + ")");
        assertEquals(12, boxes.videoSamples());

        VideoClip back = VideoReader.read(file, new VideoSampling(128, 96, 12, 0, 1));
        assertEquals(12, back.sourceFrameCount());
        assertEquals(8.0, back.fps(), 1e-6);
        assertEquals(128, back.width());
        assertEquals(96, back.height());
        double worst = 0;
        for (int i = 0; i < 12; i++) worst = Math.max(worst, VideoReaderTest.meanAbs(frames.get(i), back.frames().get(i)));
        System.out.printf("MP4 round trip (%s): worst per-frame mean |diff| %.2f of 255%n", Mp4Writer.encoder(), worst);
        assertTrue(worst < 4, "colours survive H.264 (yuv420p) closely: worst frame mean |diff| " + worst);
        assertNoLeftovers();
    }

    @Test
    void linuxBuildEncodesWithOpenH264() {
        String platform = System.getProperty("os.name").toLowerCase() + "/" + System.getProperty("os.arch");
        if (platform.startsWith("linux/amd64"))
            assertEquals("libopenh264", Mp4Writer.encoder(), "the LGPL FFmpeg natives (no libx264) carry OpenH264");
        else assertTrue(List.of("libx264", "libopenh264", "mpeg4").contains(Mp4Writer.encoder()));
    }

    @Test
    void mpeg4FallbackForABuildWithoutH264() throws Exception {
        // what a build with neither libx264 nor OpenH264 writes: MPEG-4 Part 2 at qscale 2, still an .mp4 FFmpeg reads
        List<BufferedImage> frames = SyntheticClip.movingBall(6, 64, 48);
        Path file = dir.resolve("mpeg4.mp4");
        Mp4Writer.write(file, frames, 8, "mpeg4");
        assertEquals("mp4v", Mp4Boxes.read(file).sampleEntry());
        VideoClip back = VideoReader.read(file, new VideoSampling(64, 48, 6, 0, 1));
        assertEquals(6, back.sourceFrameCount());
        for (int i = 0; i < 6; i++) assertTrue(VideoReaderTest.meanAbs(frames.get(i), back.frames().get(i)) < 4, "frame " + i);
        var e = assertThrows(java.io.IOException.class, () -> Mp4Writer.write(dir.resolve("none.mp4"), frames, 8, "no-such-encoder"));
        assertTrue(e.getMessage().contains("no no-such-encoder encoder"), e.getMessage());
        assertNoLeftovers();
    }

    @Test
    void overwritesAtomically() throws Exception {
        Path file = dir.resolve("out.mp4");
        Files.writeString(file, "old");
        Mp4Writer.write(file, SyntheticClip.movingBall(3, 64, 64), 10);
        assertEquals(3, VideoReader.read(file, new VideoSampling(64, 64, 3, 0, 1)).sourceFrameCount());
        assertNoLeftovers();
    }

    @Test
    void outputsGetTheUsualFilePermissions() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"), "POSIX permissions only");
        Path plain = Files.writeString(dir.resolve("plain.txt"), "x");
        Path mp4 = dir.resolve("a.mp4"), gif = dir.resolve("a.gif");
        Mp4Writer.write(mp4, SyntheticClip.movingBall(2, 16, 16), 8);
        GifWriter.write(gif, SyntheticClip.movingBall(2, 16, 16), 100);
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(mp4), "not a private temp-file mode");
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(gif));
    }

    @Test
    void rejectsBadInputWithoutWritingAnything() throws Exception {
        Path file = dir.resolve("bad.mp4");
        var odd = assertThrows(IllegalArgumentException.class, () -> Mp4Writer.write(file, SyntheticClip.movingBall(2, 63, 64), 8));
        assertTrue(odd.getMessage().contains("bad.mp4") && odd.getMessage().contains("63x64"), odd.getMessage());
        var empty = assertThrows(IllegalArgumentException.class, () -> Mp4Writer.write(file, List.of(), 8));
        assertTrue(empty.getMessage().contains("bad.mp4"), empty.getMessage());
        var mixed = assertThrows(IllegalArgumentException.class, () -> Mp4Writer.write(file,
                List.of(new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB), new BufferedImage(32, 64, BufferedImage.TYPE_INT_RGB)), 8));
        assertTrue(mixed.getMessage().contains("frame 1"), mixed.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Mp4Writer.write(file, SyntheticClip.movingBall(2, 64, 64), 0));
        assertFalse(Files.exists(file));
        assertNoLeftovers();
    }

    private void assertNoLeftovers() throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(p -> p.getFileName().toString().endsWith(".part")).toList(), "no temporary files left");
        }
    }
}
