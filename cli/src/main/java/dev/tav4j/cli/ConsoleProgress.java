package dev.tav4j.cli;

import dev.tav4j.model.pipeline.Progress;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A one-line progress bar on stderr: stage, step/total, the metrics of the step (e.g. loss), it/s and ETA.
 * On a terminal the line is redrawn in place; otherwise (a log file, a CI job, a pipe) it is printed as whole
 * lines, at the first and last step of a stage and at every tenth of it, so a log holds no carriage returns.
 * The time between two calls counts for the step just reported, so a stage that is interleaved with others
 * (tuning with validation every N steps) keeps its own rate. Keeps per-stage totals for {@link #summary()}.
 * Cancellation: {@link #cancel()} (Ctrl-C, tests) stops the running stage at its next step boundary.
 * Start-up timing ({@code TAV_TIMING=1}): the first step reported is preceded by a "timing:" line saying how long
 * after the process started it was done (the launcher execs the JVM, so that includes the launcher's own work).
 */
final class ConsoleProgress implements Progress {
    private record Totals(double seconds, int steps) {}

    /** The current run of a stage: a run restarts when the stage counts from a step not after its last one. */
    private static final class Run {
        int lastStep, steps;
        double seconds;
    }

    private long last = System.nanoTime();
    private String open; // the stage whose line has no newline yet
    private final Map<String, Run> runs = new HashMap<>();
    private final Map<String, Double> metrics = new TreeMap<>();
    private final Map<String, Totals> totals = new LinkedHashMap<>();
    private final PrintStream err;
    private final boolean terminal;
    private volatile boolean cancelled;
    private String cancelStage;
    private int cancelSteps;
    private int events;
    private boolean timing;

    /** Whether progress lines made with the no-argument constructor start with a "timing:" line (set by {@link Main}). */
    static volatile boolean startupTiming;

    ConsoleProgress() {
        this(System.err, System.console() != null && System.console().isTerminal());
        timing = startupTiming;
    }

    ConsoleProgress(PrintStream err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    /** Prints a "timing:" line before the first step (the tests; {@code TAV_TIMING=1} for the others). */
    ConsoleProgress timing(boolean on) {
        timing = on;
        return this;
    }

    /** Work done since the last step (loading, writing files) is not counted for the next step. */
    void mark() {
        last = System.nanoTime();
    }

    void cancel() {
        cancelled = true;
    }

    /** Cancels once {@code stage} has reported {@code steps} steps (a test hook for interrupted runs). */
    void cancelAfter(String stage, int steps) {
        cancelStage = stage;
        cancelSteps = steps;
    }

    @Override public boolean cancelled() { return cancelled; }

    /** Also told every metric (tav batch keeps each step's loss for the job's result.json); null: none. */
    volatile java.util.function.ObjDoubleConsumer<String> metricListener;

    @Override public void metric(String name, double value) {
        metrics.put(name, value);
        var l = metricListener;
        if (l != null) l.accept(name, value);
    }

    /** On its own line (the progress line continues below it), and kept for {@link #summary()}. */
    @Override public void event(String stage, int step, String message) {
        if (open != null) System.err.println();
        open = null;
        System.err.println("warning: " + stage + ": " + message);
        events++;
    }

    /** How many events were reported (e.g. skipped tuning steps). */
    int events() { return events; }

    @Override public void step(String stage, int step, int total) {
        long now = System.nanoTime();
        double dt = (now - last) / 1e9;
        last = now;
        if (open != null && !open.equals(stage)) err.println();
        Run r = runs.get(stage);
        if (r == null || step <= r.lastStep) runs.put(stage, r = new Run());
        r.lastStep = step;
        r.seconds += dt;
        r.steps++;
        Totals sum = totals.merge(stage, new Totals(dt, 1), (a, b) -> new Totals(a.seconds + b.seconds, a.steps + b.steps));
        if (stage.equals(cancelStage) && sum.steps >= cancelSteps) cancelled = true;
        if (timing) {
            timing = false;
            if (open != null) err.println();
            open = null;
            ProcessHandle.Info self = ProcessHandle.current().info();
            err.println(firstStepLine(stage, self.startInstant().orElse(null), ManagementFactory.getRuntimeMXBean().getStartTime(),
                    System.currentTimeMillis(), self.totalCpuDuration().orElse(null)));
        }
        double rate = r.steps / Math.max(r.seconds, 1e-9);
        int width = 24, done = (int) ((long) width * Math.min(step, total) / Math.max(1, total));
        StringBuilder m = new StringBuilder();
        metrics.forEach((k, v) -> m.append(String.format(Locale.ROOT, "  %s %.6f", k, v)));
        metrics.clear();
        String speed = rate >= 1 ? String.format(Locale.ROOT, "%.2f it/s", rate) : String.format(Locale.ROOT, "%.2f s/it", 1 / rate);
        String line = String.format(Locale.ROOT, "%-7s [%s] %d/%d%s  %s  ETA %s", stage, "#".repeat(done) + "-".repeat(width - done),
                step, total, m, speed, duration(Math.max(0, total - step) / Math.max(rate, 1e-9)));
        if (!terminal) {
            int every = Math.max(1, total / 10);
            if (step == 1 || step >= total || step % every == 0) err.println(line);
            return;
        }
        err.print("\r" + line + " ");
        open = stage;
        if (step >= total) {
            err.println();
            open = null;
        }
    }

    /** Seconds and steps per stage so far, one line each, aligned with the commands' stage times. */
    String summary() {
        StringBuilder sb = new StringBuilder();
        totals.forEach((s, t) -> sb.append(String.format(Locale.ROOT, "  %-28s %8.1f s  (%d steps, %.3f s/step)%n",
                "  of which " + s, t.seconds, t.steps, t.seconds / Math.max(1, t.steps))));
        return sb.toString();
    }

    /**
     * "timing: first STAGE step done after X s (the process started at 0, the JVM at Y s; Z s of CPU)": X from the
     * process's start (the launcher script's, as it execs java), Y the JVM's own start time, Z the CPU time of all the
     * process's threads so far (less sensitive than X to other work on the machine); without a process start time, X
     * from the JVM's start.
     */
    static String firstStepLine(String stage, Instant processStart, long jvmStartMillis, long nowMillis, Duration cpu) {
        String cpuText = cpu == null ? "" : String.format(Locale.ROOT, "; %.2f s of CPU", cpu.toMillis() / 1e3);
        if (processStart == null)
            return String.format(Locale.ROOT, "timing: first %s step done %.2f s after the JVM started (%s)", stage,
                    (nowMillis - jvmStartMillis) / 1e3, cpuText.isEmpty() ? "no process start time" : cpuText.substring(2));
        long p = processStart.toEpochMilli();
        return String.format(Locale.ROOT, "timing: first %s step done %.2f s after the process started (the JVM started at %.2f s%s)",
                stage, (nowMillis - p) / 1e3, Math.max(0, jvmStartMillis - p) / 1e3, cpuText);
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) return s + " s";
        if (s < 3600) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
    }
}
