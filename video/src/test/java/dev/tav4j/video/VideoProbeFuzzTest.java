package dev.tav4j.video;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tav4j.model.fuzz.Fuzzing;
import dev.tav4j.model.video.VideoClip;
import dev.tav4j.model.video.VideoException;
import dev.tav4j.model.video.VideoSampling;

import java.nio.file.Path;

/**
 * Fuzzes the video reader (FFmpeg's probe, demuxer and decoder behind {@link FfmpegSource}, then the scaler) on
 * arbitrary file contents named .mp4 (FFmpeg still probes the content, so GIF/PNG/other containers are reached).
 * Contract: a file that cannot be read fails with {@link VideoException} naming the file; one that can gives the
 * one sampled 16×16 frame. Inputs over 64 KB are skipped to keep FFmpeg's work per input small; a hang is caught
 * by Jazzer's per-input timeout and a native crash ends the run as a finding.
 * Seeds: {@code VideoProbeFuzzTestInputs/probe} (tiny MP4/GIF/PNG, the first 48 KB of car-turn.mp4).
 */
class VideoProbeFuzzTest {
    private static final VideoSampling ONE_FRAME = new VideoSampling(16, 16, 1, 0, 1);

    @FuzzTest
    void probe(byte[] data) {
        if (data.length > 64 << 10) return;
        Path file = Fuzzing.file("probe.mp4", data);
        long before = Fuzzing.allocated();
        try {
            VideoClip clip = VideoReader.read(file, ONE_FRAME);
            if (clip.frames().size() != 1 || clip.frames().getFirst().getWidth() != 16 || clip.frames().getFirst().getHeight() != 16)
                throw new AssertionError("read " + clip.frames().size() + " frames, not one 16x16 frame");
        } catch (VideoException e) {
            Fuzzing.requireNamesFile(e, file);
        }
        Fuzzing.requireAllocatedBelow(before, 64L << 20, "reading a " + data.length + "-byte video");
    }
}
