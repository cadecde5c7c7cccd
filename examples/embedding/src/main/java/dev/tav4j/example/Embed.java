package dev.tav4j.example;

import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.SmokeTestModel;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.pipeline.VideoLayout;
import dev.tav4j.model.video.Frames;
import dev.tav4j.model.video.GifWriter;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Generates a few frames with tav4j's built-in smoke-test model (random weights, built in the process: no download)
 * on the CPU, and writes them as a GIF. A real service loads a checkpoint instead:
 * {@code TuneAVideoPipeline.load(ops, Path.of("sd-v1-5"), Path.of("tuned/unet"))}.
 * Usage: {@code Embed OUT.gif}
 */
public final class Embed {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "embedding.gif");
        int frames = 4, size = 64, steps = 3;
        Ops ops = Backends.select("cpu");
        Path work = Files.createTempDirectory("tav4j-embedding");
        long t0 = System.nanoTime();
        try (TuneAVideoPipeline p = SmokeTestModel.build(ops, work, 7)) {
            int s = p.vaeScale();
            int[] latents = {1, p.unet().config().inChannels(), frames, size / s, size / s};
            try (Tensor noise = new Gaussian(33).tensor(latents);
                 Tensor x = VideoLayout.toFrames(ops, noise);
                 Tensor edited = p.edit(x, frames, "a red ball is bouncing over the grass", steps, 7.5f, Progress.NONE);
                 Tensor video = p.decode(edited)) {                  // [F, H, W, 3] in [0, 1] on the host
                List<BufferedImage> images = Frames.toImages(video);
                GifWriter.write(out, images, 125);
                System.out.printf("embedding example: %d frames %dx%d on %s in %.1f s -> %s%n", images.size(),
                        images.getFirst().getWidth(), images.getFirst().getHeight(), ops.name(), (System.nanoTime() - t0) / 1e9, out);
            }
        }
    }
}
