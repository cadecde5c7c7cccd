package dev.tav4j.cli;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.runtime.Ops;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shipped world models at the repository root (docs/pretrain.md trains them): {@value #FOLDER}, the default
 * {@code --model} of {@code tav demo}, {@code tav generate}, {@code tav tune} and {@code tav edit}, and
 * {@value #EVAL_FOLDER}, that of {@code tav eval --world}. Looked for in the current folder, then beside the
 * jar's checkout (cli/target/tav.jar → ../../models/world-sd), so a fresh clone finds it from anywhere once committed.
 */
final class WorldModel {
    static final String FOLDER = "models/world-sd";
    /**
     * The default model of {@code tav eval --world}: the same VAE and text encoder with a text-to-image UNet, so that
     * the ablations start where Tune-A-Video starts (an image model, inflated), not from a model pretrained on videos.
     */
    static final String EVAL_FOLDER = "models/world-t2i";

    private WorldModel() {}

    /** The folder, or an IllegalArgumentException (one line) saying where it was looked for and how to get it. */
    static Path resolve() {
        return resolve(FOLDER, "scripts/world-sd.json");
    }

    /** {@link #EVAL_FOLDER}, as {@link #resolve()}. */
    static Path resolveEval() {
        return resolve(EVAL_FOLDER, "scripts/world-t2i.json");
    }

    private static Path resolve(String folder, String config) {
        Path here = Path.of(folder).toAbsolutePath().normalize();
        if (isModel(here)) return here;
        Path besideJar = besideJar(folder);
        if (besideJar != null && isModel(besideJar)) return besideJar;
        throw new IllegalArgumentException("no shipped world model: " + folder + " not found in " + Path.of("").toAbsolutePath()
                + (besideJar != null && !besideJar.equals(here) ? " nor at " + besideJar : "")
                + "; pass --model DIR (a folder written by 'tav pretrain'), or train one with './tav pretrain --out " + folder
                + " --config " + config + "'");
    }

    /**
     * The clips of a world run fit, before any compute: frames the host can hold (Checks.shape), and one tuning run
     * with inversion the backend can hold (MemoryCheck) — the largest step of tav demo and of each row of tav eval --world.
     */
    static void checkFits(Ops ops, Path dir, int frames, int size, TuneSettings settings) {
        Checks.shape("--frames", frames, "the model's frame height", size, "width", size);
        CheckpointDir c = CheckpointDir.open(dir);
        MemoryCheck.before(ops, new MemoryPlan.Models(c.unetConfig(), c.vaeConfig(), c.textConfig()),
                MemoryPlan.Workload.tune(frames, size, size, settings, true, true));
    }

    /**
     * The defaults of a command whose {@code --model} may be left out: with a model given, the frame size asked or
     * 512×512 (the official configs'); without one, the shipped world model (set through {@code setModel}, with a
     * note on stderr) and its own frame size (the UNet's sample_size × the VAE's downscale, 64) unless one is asked.
     * Returns {height, width}.
     */
    static int[] defaults(java.util.function.Consumer<Path> setModel, Path model, Integer height, Integer width) {
        int h = 512, w = 512;
        if (model == null) {
            Path dir = resolve();
            setModel.accept(dir);
            CheckpointDir c = CheckpointDir.open(dir);
            h = w = c.unetConfig().sampleSize() * (1 << (c.vaeConfig().blockOutChannels().length - 1));
            System.err.println("model: the shipped world model " + dir + " (" + w + "×" + h + " frames; --model for another)");
        }
        return new int[] {height != null ? height : h, width != null ? width : w};
    }

    private static boolean isModel(Path p) {
        return Files.isRegularFile(p.resolve("model_index.json")) && Files.isDirectory(p.resolve("unet"));
    }

    /** {@code folder} of the checkout the running jar (or classes folder) was built in: two folders up from it. */
    private static Path besideJar(String folder) {
        try {
            var src = WorldModel.class.getProtectionDomain().getCodeSource();
            if (src == null) return null;
            Path p = Path.of(src.getLocation().toURI()).toAbsolutePath();  // …/cli/target/tav.jar or …/cli/target/classes
            Path root = p.getParent() == null || p.getParent().getParent() == null ? null : p.getParent().getParent().getParent();
            return root == null ? null : root.resolve(folder).normalize();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }
}
