package dev.tav4j.cli;

/** The cli's test hook for interrupted runs, for the Spark tests (same package, on the class path). */
public final class BatchHooks {
    private BatchHooks() {}

    /** Every job run in this JVM is cancelled after {@code steps} tuning steps (as Ctrl-C would); -1: off. */
    public static void cancelAfterTuneSteps(int steps) {
        TuneLauncher.cancelAfterTuneSteps = steps;
    }
}
