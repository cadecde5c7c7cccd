package dev.tav4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ScopeType;

/** The {@code tav} command. */
@Command(name = "tav", mixinStandardHelpOptions = true, scope = ScopeType.INHERIT, version = "tav4j 0.1.0",
        description = "Tune-A-Video on the JVM: text-driven video editing with Stable Diffusion (CPU and CUDA backends).",
        subcommands = {InfoCommand.class, RunCommand.class, TuneCommand.class, EditCommand.class, GenerateCommand.class,
                DemoCommand.class, PlanCommand.class, BenchCommand.class, DoctorCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line; returns the exit code (tests call this). */
    public static int run(String... args) {
        // a failure in a worker thread is reported like one in the command, never as a bare stack trace
        Thread.setDefaultUncaughtExceptionHandler((thread, ex) -> System.err.println("tav: " + Errors.report(ex, thread.getName())));
        OneLineLogging.install();
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            cmd.getErr().println("tav: " + Errors.report(ex, null));
            if (Boolean.getBoolean("tav.debug")) ex.printStackTrace(cmd.getErr());
            return 1;
        });
        // a usage error is one line and a pointer to --help (exit 2), not the whole usage text
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("tav: " + ex.getMessage().lines().findFirst().orElse(""));
            c.getErr().println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for the options and their defaults.");
            return 2;
        });
        return cl.execute(args);
    }

    @Override public void run() {
        spec.commandLine().usage(System.out);
    }
}
