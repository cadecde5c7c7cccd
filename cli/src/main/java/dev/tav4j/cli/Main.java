package dev.tav4j.cli;

import dev.tav4j.video.FfmpegLog;
import dev.tav4j.runtime.HostMemoryPool;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ScopeType;

/** The {@code tav} command. */
@Command(name = "tav", mixinStandardHelpOptions = true, scope = ScopeType.INHERIT, version = "tav4j 0.1.0",
        description = "Tune-A-Video on the JVM: text-driven video editing with Stable Diffusion (CPU and CUDA backends).",
        subcommands = {InfoCommand.class, RunCommand.class, BatchCommand.class, TuneCommand.class, EditCommand.class, GenerateCommand.class,
                DemoCommand.class, EvalCommand.class, WorldCommand.class, PretrainCommand.class, PlanCommand.class, BenchCommand.class,
                DoctorCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs the command line; returns the exit code (tests call this). The process's environment is read here, once
     * ({@link CliEnvironment}), and handed to the commands and options that need it.
     */
    public static int run(String... args) {
        CliEnvironment env = CliEnvironment.read();
        if (env.ffmpegLog() != null) FfmpegLog.level(env.ffmpegLog());
        if (env.hostPoolBytes() >= 0) HostMemoryPool.GLOBAL.limitCache(env.hostPoolBytes());
        ConsoleProgress.startupTiming = env.timing();
        // a failure in a worker thread is reported like one in the command, never as a bare stack trace
        Thread.setDefaultUncaughtExceptionHandler((thread, ex) -> System.err.println("tav: " + Errors.report(ex, thread.getName())));
        OneLineLogging.install();
        CommandLine cl = commandLine(env);
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            cmd.getErr().println("tav: " + Errors.report(ex, null));
            if (env.debug()) ex.printStackTrace(cmd.getErr());
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

    /** The command line whose commands and options get {@code env}. */
    static CommandLine commandLine(CliEnvironment env) {
        return new CommandLine(new Main(), new Factory(env));
    }

    /** Makes the commands and mixins, giving the environment to those that need it ({@link CliEnvironment.Aware}). */
    private record Factory(CliEnvironment env) implements CommandLine.IFactory {
        @Override public <K> K create(Class<K> cls) throws Exception {
            K o = CommandLine.defaultFactory().create(cls);
            if (o instanceof CliEnvironment.Aware a) a.environment(env);
            return o;
        }
    }
}
