package dev.tav4j.model.pretrain;

import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.vae.Vae;
import dev.tav4j.model.video.Frames;
import dev.tav4j.model.video.GifWriter;
import dev.tav4j.model.video.VideoGrid;
import dev.tav4j.model.world.Sample;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a person looks at after each stage, in {@code OUT/samples/}: the VAE's reconstructions of stills no step drew
 * (originals above, reconstructions below) with their PSNR, and the UNet's videos for a few captions of the world
 * (guided DDIM from noise through the written folder, as {@code tav generate} would make them).
 */
public final class PretrainSamples {
    private PretrainSamples() {}

    /** Writes {@code file} (PNG) and returns the mean PSNR in dB of the posterior-mean reconstructions (pixels in [0, 1]). */
    public static double vae(Ops ops, Vae vae, WorldData data, int count, Path file) {
        try (Tensor host = data.heldStills(count); Tensor px = ops.upload(host); Vae.Posterior post = vae.encode(px);
             Tensor rec = vae.decode(post.mean()); Tensor h = ops.download(rec)) {
            double psnr = 0;
            int per = (int) (h.size() / count);
            Tensor a = Tensor.host(host.shape()), b = Tensor.host(host.shape());
            try (a; b) {
                for (int i = 0; i < count; i++) {
                    double se = 0;
                    for (int k = 0; k < per; k++) {
                        long j = (long) i * per + k;
                        float x = clamp01(host.get(j) / 2 + 0.5f), y = clamp01(h.get(j) / 2 + 0.5f);
                        a.set(j, x);
                        b.set(j, y);
                        se += (double) (x - y) * (x - y);
                    }
                    psnr += 10 * Math.log10(1 / Math.max(se / per, 1e-10));
                }
                List<List<BufferedImage>> cells = new ArrayList<>();
                for (BufferedImage im : Frames.toImages(a)) cells.add(List.of(im));
                for (BufferedImage im : Frames.toImages(b)) cells.add(List.of(im));
                writePng(file, VideoGrid.compose(cells, count).getFirst());
            }
            return psnr / count;
        }
    }

    /** Generates a clip per caption with the pipeline folder {@code model} and writes them as one GIF grid (and the captions beside it). */
    public static void unet(Ops ops, Path model, List<String> captions, int frames, int latent, int steps, float guidance, long seed, Path gif) {
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, model, null)) {
            List<List<BufferedImage>> clips = new ArrayList<>();
            for (int i = 0; i < captions.size(); i++) {
                try (Tensor init = new Gaussian(seed + i).tensor(frames, latent, latent, 4); Tensor x = ops.upload(init);
                     Tensor z = p.edit(x, frames, captions.get(i), steps, guidance, Progress.NONE); Tensor video = p.decode(z)) {
                    clips.add(Frames.toImages(video));
                }
            }
            Files.createDirectories(gif.getParent());
            GifWriter.write(gif, VideoGrid.compose(clips, Math.min(4, clips.size())), 250);
            StringBuilder sb = new StringBuilder("# " + gif.getFileName() + ", in reading order (DDIM " + steps + " steps, guidance " + guidance + ", seed " + seed + "+i)\n");
            for (String c : captions) sb.append(c).append('\n');
            Files.writeString(gif.resolveSibling(gif.getFileName().toString().replaceAll("\\.gif$", ".txt")), sb.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + gif + ": " + e.getMessage(), e);
        }
    }

    /** Captions of the world's training split the run never drew (its own stream of videos far past any step). */
    public static List<String> captions(List<Sample> samples) {
        return samples.stream().map(Sample::caption).toList();
    }

    private static float clamp01(float v) {
        return Math.max(0f, Math.min(1f, v));
    }

    private static void writePng(Path file, BufferedImage img) {
        try {
            Files.createDirectories(file.getParent());
            ImageIO.write(img, "png", file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
