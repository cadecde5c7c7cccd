package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.device.DeviceApi;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Device time per kernel of the work a {@link CudaOps} queues while profiling is on: a pair of events around
 * each launch, GEMM and device copy, folded into (calls, total ms) per kernel name when read. Events are
 * pooled and reused; after {@link #MAX_PENDING} pairs the profiler synchronises and folds, so memory stays
 * bounded. An event pair times from when the stream reaches the start event, so a kernel queued behind an
 * idle stream also counts the host's launch latency: tiny kernels read a little high, large ones exactly.
 */
public final class KernelProfiler implements AutoCloseable {
    static final int MAX_PENDING = 8192;

    /** One kernel's figures: how many launches and their summed device time. */
    public record Entry(String name, long calls, double totalMillis) {}

    private final DeviceApi api;
    private long[] events = new long[0];
    private final String[] pending = new String[MAX_PENDING];
    private int used;
    private final Map<String, double[]> totals = new HashMap<>();

    KernelProfiler(DeviceApi api) {
        this.api = api;
    }

    /** Records the start of {@code name}'s work; {@link #end()} must follow once it is queued. */
    void begin(String name) {
        if (used == MAX_PENDING) fold();
        int e = 2 * used;
        if (e + 1 >= events.length) grow();
        pending[used] = name;
        api.eventRecord(events[e]);
    }

    void end() {
        api.eventRecord(events[2 * used + 1]);
        used++;
    }

    private void grow() {
        int old = events.length, size = Math.min(2 * MAX_PENDING, Math.max(256, 2 * old));
        events = Arrays.copyOf(events, size);
        for (int i = old; i < size; i++) events[i] = api.eventCreate();
    }

    /** Waits for the recorded work and adds it to the totals. */
    private void fold() {
        for (int i = 0; i < used; i++) {
            double ms = api.eventElapsedMillis(events[2 * i], events[2 * i + 1]);
            double[] t = totals.computeIfAbsent(pending[i], n -> new double[2]);
            t[0]++;
            t[1] += ms;
            pending[i] = null;
        }
        used = 0;
    }

    /** The figures so far, largest total first (waits for queued work). */
    public List<Entry> entries() {
        fold();
        List<Entry> out = new ArrayList<>();
        totals.forEach((n, t) -> out.add(new Entry(n, (long) t[0], t[1])));
        out.sort(Comparator.comparingDouble(Entry::totalMillis).reversed().thenComparing(Entry::name));
        return out;
    }

    /** Forgets the figures (queued pairs included, after waiting for them). */
    public void reset() {
        fold();
        totals.clear();
    }

    @Override public void close() {
        for (long e : events) api.eventDestroy(e);
        events = new long[0];
        used = 0;
    }
}
