package dev.tav4j.cli;

import dev.tav4j.model.world.RecogniserCheck;
import dev.tav4j.model.world.Sample;
import dev.tav4j.model.world.Split;
import dev.tav4j.model.world.World;
import dev.tav4j.model.world.WorldDataset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code tav world}: writes samples of the procedural world (shapes, colours, backgrounds, motions) with their captions
 * and ground truth; the same seed gives the same pixels on any machine. See docs/world.md.
 */
@Command(name = "world", description = {
        "Write samples of the procedural world (docs/world.md): a coloured shape (circle, square, triangle, star, diamond, cross) "
                + "on a plain, gradient or striped background, moving left, right, up or down, bouncing or orbiting.",
        "Per sample: a video (a PNG for --frames 1) and its soft masks (masks/); captions.jsonl holds a line per sample with its "
                + "caption, split and ground truth (attributes, path, centroids, areas); world.json how to make the same files again.",
        "The same --seed gives the same pixels on any machine. --split train never gives a held-out combination, --split eval only those."})
final class WorldCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.") Path out;
    @Option(names = "--count", defaultValue = "100", description = "Samples (default: ${DEFAULT-VALUE}).") int count;
    @Option(names = "--seed", defaultValue = "0", description = "Seed (default: ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--size", defaultValue = "64", description = "Frame width and height, a multiple of 8 (default: ${DEFAULT-VALUE}).") int size;
    @Option(names = "--width", description = "Frame width (default: --size).") Integer width;
    @Option(names = "--height", description = "Frame height (default: --size).") Integer height;
    @Option(names = "--frames", defaultValue = "8", description = "Frames per sample; 1 writes still images (default: ${DEFAULT-VALUE}).") int frames;
    @Option(names = "--split", defaultValue = "all", description = "all, train or eval (default: ${DEFAULT-VALUE}).") String split;
    @Option(names = "--format", description = "gif or mp4 for videos, png for stills (default: gif, png for --frames 1).") String format;
    @Option(names = "--fps", defaultValue = "8", description = "Frame rate of the videos (default: ${DEFAULT-VALUE}).") int fps;
    @Option(names = "--masks", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Write masks/NNNNN.png, each frame's soft mask side by side (default: on; --no-masks skips them).") boolean masks;
    @Option(names = "--check", description = "Then run the recognisers of the world metrics on the samples (as 8-bit frames) and print their accuracy against the ground truth.")
    boolean check;

    @Override public Integer call() throws Exception {
        int w = width != null ? width : size, h = height != null ? height : size;
        Checks.shape("--frames", frames, "--height", h, "--width", w);
        Checks.atLeast("--count", count, 1);
        Checks.atLeast("--fps", fps, 1);
        if (w < 16 || h < 16) throw new IllegalArgumentException("--width and --height must be at least 16, got " + w + "x" + h);
        Split sp = switch (split.toLowerCase(Locale.ROOT)) {
            case "all" -> Split.ALL;
            case "train" -> Split.TRAIN;
            case "eval" -> Split.EVAL;
            default -> throw new IllegalArgumentException("--split must be all, train or eval, got '" + split + "'");
        };
        WorldDataset.Format fmt;
        String f = format != null ? format.toLowerCase(Locale.ROOT) : frames == 1 ? "png" : "gif";
        fmt = switch (f) {
            case "gif" -> WorldDataset.Format.GIF;
            case "mp4" -> WorldDataset.Format.MP4;
            case "png" -> WorldDataset.Format.PNG;
            default -> throw new IllegalArgumentException("--format must be gif, mp4 or png, got '" + format + "'");
        };
        if (fmt == WorldDataset.Format.PNG && frames != 1)
            throw new IllegalArgumentException("--format png writes still images: use it with --frames 1 (or gif/mp4 for " + frames + " frames)");
        Checks.outputFolder("--out", out);
        World world = new World(w, h, frames);
        long t0 = System.nanoTime();
        List<Sample> samples = WorldDataset.write(world, out, new WorldDataset.Spec(seed, count, sp, fmt, fps, masks));
        long held = samples.stream().filter(s -> s.split() == Split.EVAL).count();
        System.out.printf(Locale.ROOT, "wrote %d samples (%d train, %d held-out eval) of %d frame%s %dx%d to %s in %.1f s: %s, %s%n",
                count, count - held, held, frames, frames == 1 ? "" : "s", w, h, out, (System.nanoTime() - t0) / 1e9,
                WorldDataset.CAPTIONS, WorldDataset.MANIFEST);
        System.out.println("first caption: " + samples.getFirst().caption());
        if (check) {
            t0 = System.nanoTime();
            RecogniserCheck.Report r = RecogniserCheck.run(world, seed, count, sp, 0, false);
            System.out.printf(Locale.ROOT, "recognisers on these samples: %s (%.1f s)%n", r, (System.nanoTime() - t0) / 1e9);
        }
        return 0;
    }
}
