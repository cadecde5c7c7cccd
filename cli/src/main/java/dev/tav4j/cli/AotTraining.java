package dev.tav4j.cli;

import java.nio.file.Path;
import java.util.List;

/**
 * The training run of the launcher's JVM AOT cache ({@code ./tav}, docs/performance.md "Start-up"): in one JVM, the
 * commands whose classes and early profiles the cache keeps. {@code tav info} (the CUDA probe, the backends) and a
 * {@code tav demo --smoke-test} at the smallest size (the same whether or not a world model is shipped), one step of each stage (loading, tuning, inversion, guided editing, VAE,
 * GIF writing: what generate, edit and tune start with). Not a tav command: the launcher runs this class.
 */
public final class AotTraining {
    private AotTraining() {}

    /** The commands, each an argument list for {@link Main#run}; {@code out} is the demo's output folder. */
    static List<String[]> commands(Path out) {
        return List.of(new String[] {"info"},
                new String[] {"demo", "--smoke-test", "--size", "64", "--frames", "2", "--tune-steps", "1", "--steps", "1", "--out", out.toString()});
    }

    /** {@code java -XX:AOTCacheOutput=FILE … -cp tav.jar dev.tav4j.cli.AotTraining OUT_DIR}; exits non-zero if a command failed. */
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: AotTraining OUT_DIR");
            System.exit(2);
        }
        int worst = 0;
        for (String[] command : commands(Path.of(args[0]))) worst = Math.max(worst, Main.run(command));
        System.exit(worst);
    }
}
