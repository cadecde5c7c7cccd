package dev.tav4j.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shipped world model, {@value #FOLDER} at the repository root (docs/pretrain.md trains it): the default
 * {@code --model} of {@code tav demo} and {@code tav eval --world}. Looked for in the current folder, then beside the
 * jar's checkout (cli/target/tav.jar → ../../models/world-sd), so a fresh clone finds it from anywhere once committed.
 */
final class WorldModel {
    static final String FOLDER = "models/world-sd";

    private WorldModel() {}

    /** The folder, or an IllegalArgumentException (one line) saying where it was looked for and how to get it. */
    static Path resolve() {
        Path here = Path.of(FOLDER).toAbsolutePath().normalize();
        if (isModel(here)) return here;
        Path besideJar = besideJar();
        if (besideJar != null && isModel(besideJar)) return besideJar;
        throw new IllegalArgumentException("no shipped world model: " + FOLDER + " not found in " + Path.of("").toAbsolutePath()
                + (besideJar != null && !besideJar.equals(here) ? " nor at " + besideJar : "")
                + "; pass --model DIR (a folder written by 'tav pretrain'), or train one with './tav pretrain --out " + FOLDER + "'");
    }

    private static boolean isModel(Path p) {
        return Files.isRegularFile(p.resolve("model_index.json")) && Files.isDirectory(p.resolve("unet"));
    }

    /** models/world-sd of the checkout the running jar (or classes folder) was built in: two folders up from it. */
    private static Path besideJar() {
        try {
            var src = WorldModel.class.getProtectionDomain().getCodeSource();
            if (src == null) return null;
            Path p = Path.of(src.getLocation().toURI()).toAbsolutePath();  // …/cli/target/tav.jar or …/cli/target/classes
            Path root = p.getParent() == null || p.getParent().getParent() == null ? null : p.getParent().getParent().getParent();
            return root == null ? null : root.resolve(FOLDER).normalize();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }
}
