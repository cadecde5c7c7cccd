package dev.tav4j.video;

import dev.tav4j.model.golden.GoldenCase;
import dev.tav4j.model.golden.GoldenData;
import dev.tav4j.model.video.VideoClip;
import dev.tav4j.model.video.VideoSampling;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Our decode of man-skiing.mp4 against the official reader's (decord, in the golden a-pipeline case: frames
 * 0, 2, 4, 6 at 128×128, uint8). Achieved on linux-x86_64 with the bytedeco FFmpeg 8.0.1 build: bit-exact
 * (mean |Δ| 0, max 0). The bounds below leave room for libswscale's other SIMD paths on other CPUs while
 * still failing for a wrong interpolation (bilinear: mean 0.84, max 31), a wrong colour matrix (BT.601 instead
 * of the clip's BT.709: mean ≈1.4, max 34) or a wrong frame.
 */
class VideoGoldenTest {
    static final double MEAN_BOUND = 0.05;
    static final double MAX_BOUND = 2;

    @Test
    void decodeMatchesTheOfficialReader() {
        try (GoldenCase golden = GoldenData.named("a-pipeline"); Tensor ref = golden.tensor("frames")) {
            int frames = ref.dim(0), h = ref.dim(1), w = ref.dim(2);
            assertEquals(golden.json().path("height").asInt(), h);
            assertEquals(golden.json().path("width").asInt(), w);
            VideoSampling sampling = new VideoSampling(w, h, frames, 0, golden.json().path("sample_frame_rate").asInt());
            long t0 = System.nanoTime();
            VideoClip clip = VideoReader.read(TestVideos.video(golden.json().path("video").asText()), sampling);
            double ms = (System.nanoTime() - t0) / 1e6;

            float[] want = ref.toArray();
            double sum = 0, max = 0;
            for (int f = 0; f < frames; f++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        int rgb = clip.frames().get(f).getRGB(x, y);
                        int o = ((f * h + y) * w + x) * 3;
                        for (int c = 0; c < 3; c++) {
                            double d = Math.abs(((rgb >> (16 - 8 * c)) & 255) - want[o + c]);
                            sum += d;
                            max = Math.max(max, d);
                        }
                    }
            double mean = sum / want.length;
            System.out.printf("golden a-pipeline frames: mean |diff| %.4f, max %.0f (decode %.0f ms, %s)%n", mean, max, ms, clip);
            assertTrue(mean <= MEAN_BOUND, "mean |ours - decord| = " + mean + " > " + MEAN_BOUND);
            assertTrue(max <= MAX_BOUND, "max |ours - decord| = " + max + " > " + MAX_BOUND);

            try (Tensor pixels = clip.toPixels()) {
                float[] got = pixels.toArray();
                double worst = 0;
                for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - (want[i] / 127.5f - 1f)));
                assertTrue(worst <= MAX_BOUND / 127.5 + 1e-6, "pixels vs frames/127.5 - 1: " + worst);
            }
        }
    }
}
