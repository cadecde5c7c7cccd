package dev.tav4j.cli;

/** The cli's test hooks for the Spark tests (same package, on the class path): interrupted runs, the cli tests' jobs. */
public final class BatchHooks {
    private BatchHooks() {}

    /** BatchCommandTest's jobs (two videos and one whose video does not exist) on these files. */
    public static String jobsYaml(java.nio.file.Path model, java.nio.file.Path skiing, java.nio.file.Path car) {
        return BatchCommandTest.jobsYaml(model, skiing, car);
    }

    /** Every job run in this JVM is cancelled after {@code steps} tuning steps (as Ctrl-C would); -1: off. */
    public static void cancelAfterTuneSteps(int steps) {
        TuneLauncher.cancelAfterTuneSteps = steps;
    }
}
