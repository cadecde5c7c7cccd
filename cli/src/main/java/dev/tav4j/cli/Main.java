package dev.tav4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tav} command. */
@Command(name = "tav", mixinStandardHelpOptions = true, version = "tav4j 0.1.0",
        description = "Tune-A-Video on the JVM: text-driven video editing with Stable Diffusion (CPU and CUDA backends).",
        subcommands = {InfoCommand.class, RunCommand.class, TuneCommand.class, EditCommand.class, GenerateCommand.class,
                DemoCommand.class, BenchCommand.class, DoctorCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line; returns the exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            cmd.getErr().println("tav: " + Errors.describe(ex));
            if (Boolean.getBoolean("tav.debug")) ex.printStackTrace(cmd.getErr());
            return 1;
        });
        return cl.execute(args);
    }

    @Override public void run() {
        spec.commandLine().usage(System.out);
    }
}
