package dev.tav4j.video;

import dev.tav4j.model.pipeline.VideoOutput;
import dev.tav4j.model.video.SyntheticClip;
import dev.tav4j.model.video.VideoFileWriter;
import dev.tav4j.model.video.VideoSampling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** With this module present, the model's VideoOutput writes .mp4 through the ServiceLoader-registered Mp4Output. */
class Mp4OutputTest {
    @TempDir Path dir;

    @Test
    void videoOutputWritesMp4ThroughTheProvider() throws Exception {
        assertInstanceOf(Mp4Output.class, VideoFileWriter.forExtension("MP4").orElseThrow());
        Path mp4 = dir.resolve("ball.mp4");
        VideoOutput.write(mp4, SyntheticClip.movingBall(4, 64, 48), 8);
        assertEquals("avc1", Mp4Boxes.read(mp4).sampleEntry());
        assertEquals(4, VideoReader.read(mp4, new VideoSampling(64, 48, 4, 0, 1)).sourceFrameCount());
    }
}
