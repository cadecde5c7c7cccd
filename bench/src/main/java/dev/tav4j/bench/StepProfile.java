package dev.tav4j.bench;

import dev.tav4j.runtime.KernelTiming;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Device time per kernel of one step run eagerly under the backend's {@link KernelTiming} (a pair of events per
 * launch, GEMM and copy, so never inside a CUDA graph), and the step's wall time. The benches time their steps with
 * profiling off and add one profiled step after them.
 */
public record StepProfile(List<KernelTiming.Entry> entries, double stepSeconds) {
    /** How many kernels the printed table and the JSON list. */
    static final int TOP = 20;

    public static final StepProfile NONE = new StepProfile(List.of(), 0);

    /**
     * The backend's kernel timing when {@code profile} is asked (null otherwise); a backend without one (a host
     * backend not wrapped by {@link HostOpTiming}) is refused in one line before anything runs.
     */
    static KernelTiming timing(dev.tav4j.runtime.Ops ops, boolean profile) {
        if (!profile) return null;
        return ops.kernelTiming().orElseThrow(() -> new IllegalArgumentException(
                "--profile needs a backend with kernel timing (cuda, or a host backend wrapped by HostOpTiming); " + ops.name() + " has none"));
    }

    /** Runs {@code step} (which must end in a synchronize) with profiling on, then turns it off. */
    static StepProfile of(KernelTiming timing, Runnable step) {
        timing.start();
        try {
            long start = System.nanoTime();
            step.run();
            double sec = (System.nanoTime() - start) / 1e9;
            return new StepProfile(timing.stop(), sec);
        } finally {
            if (timing.running()) timing.stop();
        }
    }

    public boolean isEmpty() { return entries.isEmpty(); }

    /** The profile as a table: kernel, calls, total ms, % of the profiled step, mean µs per call. */
    public String table() {
        StringBuilder b = new StringBuilder();
        double stepMs = stepSeconds * 1e3, kernels = entries.stream().mapToDouble(KernelTiming.Entry::totalMillis).sum();
        b.append(String.format(Locale.ROOT, "profiled step: %.1f ms wall, %.1f ms timed in %d kernels (%d launches)%n",
                stepMs, kernels, entries.size(), entries.stream().mapToLong(KernelTiming.Entry::calls).sum()));
        b.append(String.format(Locale.ROOT, "%-34s %7s %10s %7s %10s%n", "kernel", "calls", "total ms", "% step", "µs/call"));
        for (int i = 0; i < Math.min(TOP, entries.size()); i++) {
            KernelTiming.Entry e = entries.get(i);
            b.append(String.format(Locale.ROOT, "%-34s %7d %10.2f %6.1f%% %10.1f%n", e.name(), e.calls(), e.totalMillis(),
                    100 * e.totalMillis() / stepMs, 1e3 * e.totalMillis() / e.calls()));
        }
        if (entries.size() > TOP) {
            double rest = entries.subList(TOP, entries.size()).stream().mapToDouble(KernelTiming.Entry::totalMillis).sum();
            b.append(String.format(Locale.ROOT, "%-34s %7s %10.2f %6.1f%%%n", "(" + (entries.size() - TOP) + " others)", "", rest, 100 * rest / stepMs));
        }
        return b.toString();
    }

    /** The JSON members {@code ,"profiled_step_seconds":…,"profile":[…]}, or "" when not profiled. */
    String jsonMembers() {
        if (entries.isEmpty()) return "";
        double stepMs = stepSeconds * 1e3;
        return String.format(Locale.ROOT, ",\"profiled_step_seconds\":%.4f,\"profile\":[%s]", stepSeconds,
                entries.stream().limit(TOP).map(e -> String.format(Locale.ROOT,
                        "{\"kernel\":\"%s\",\"calls\":%d,\"ms\":%.3f,\"pct_step\":%.2f}", e.name(), e.calls(), e.totalMillis(),
                        100 * e.totalMillis() / stepMs)).collect(Collectors.joining(",")));
    }
}
