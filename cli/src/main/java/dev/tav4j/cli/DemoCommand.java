package dev.tav4j.cli;

import dev.tav4j.model.pipeline.SmokeTestModel;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.video.Frames;
import dev.tav4j.model.video.GifWriter;
import dev.tav4j.model.video.SyntheticClip;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code tav demo}: the method end to end with no download — a clip made in the process, a smoke-test model
 * built deterministically in the process, DDIM inversion and a guided edit, GIFs out, the time of each stage.
 */
@Command(name = "demo", description = "Run the method end to end on a built-in smoke-test model and a generated clip (no download).")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "tav-demo", description = "Output folder (default: ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--frames", defaultValue = "8") int frames;
    @Option(names = "--size", defaultValue = "128", description = "Frame width and height (multiple of 8).") int size;
    @Option(names = "--steps", defaultValue = "10", description = "DDIM inversion and editing steps.") int steps;
    @Option(names = "--prompt", defaultValue = "a blue ball bouncing on the beach") String prompt;
    @Mixin DeviceOption device;

    @Override public Integer call() throws Exception {
        if (size % 8 != 0 || size <= 0) throw new IllegalArgumentException("--size must be a positive multiple of 8, got " + size);
        System.out.println("tav demo: a SMOKE-TEST model with random weights, built in the process, on a generated clip.");
        System.out.println("The edited video shows that the pipeline runs end to end, not a meaningful edit. For real results run");
        System.out.println("  ./tav generate --model <diffusers Stable Diffusion folder> --unet <tuned unet> --prompt \"…\" --frames 8 --seed 1 --out out.gif");
        Files.createDirectories(out);
        Ops ops = device.open();
        long t = System.nanoTime();
        try (TuneAVideoPipeline p = SmokeTestModel.build(ops, out, 42)) {
            t = stage("build model", t);
            List<BufferedImage> clip = SyntheticClip.movingBall(frames, size, size);
            GifWriter.write(out.resolve("input.gif"), clip, 125);
            t = stage("make input clip", t);
            try (Tensor pixels = Frames.toPixels(clip); Tensor latents = p.encodeVideoMean(pixels)) {
                t = stage("VAE encode", t);
                ConsoleProgress bar = new ConsoleProgress();
                try (Tensor inverted = p.invert(latents, frames, steps, bar)) {
                    t = stage("DDIM inversion (" + steps + " steps)", t);
                    try (Tensor edited = p.edit(inverted, frames, prompt, steps, 12.5f, bar)) {
                        t = stage("guided editing (" + steps + " steps, guidance 12.5)", t);
                        try (Tensor video = p.decode(edited)) {
                            t = stage("VAE decode", t);
                            GifWriter.write(out.resolve("edited.gif"), Frames.toImages(video), 125);
                        }
                    }
                }
            }
        }
        System.out.println("tuning: not part of this build yet; the demo edits with the freshly inflated model");
        System.out.println("wrote " + out.resolve("input.gif") + " and " + out.resolve("edited.gif"));
        return 0;
    }

    private static long stage(String name, long since) {
        long now = System.nanoTime();
        System.out.printf(Locale.ROOT, "  %-45s %7.2f s%n", name, (now - since) / 1e9);
        return now;
    }
}
