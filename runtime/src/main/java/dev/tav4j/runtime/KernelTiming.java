package dev.tav4j.runtime;

import java.util.List;

/**
 * Device time per kernel of the work a backend queues between {@link #start()} and {@link #stop()} (a pair of events
 * around each launch, GEMM and copy on the cuda backend, so timed work never runs inside a captured step). Backends
 * without kernels of their own (cpu) have none: {@link Ops#kernelTiming()} is empty.
 */
public interface KernelTiming {
    /** One kernel's figures: how many launches and their summed device time. */
    record Entry(String name, long calls, double totalMillis) {}

    /** Starts timing afresh (figures so far are dropped). */
    void start();

    /** Waits for the queued work, stops timing and returns the figures, largest total first. */
    List<Entry> stop();

    /** Whether timing is on. */
    boolean running();
}
