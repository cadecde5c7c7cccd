package dev.tav4j.runtime;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Splits index ranges over all cores. Work items are coarse (rows, images, heads), never single elements.
 *
 * <p>A step of the model makes over a thousand calls, many of them a fraction of a millisecond, so what a call costs
 * beyond its work matters: through a {@code ForkJoinPool} it was 20 µs back to back and 45 µs after a short pause
 * (parked workers woken through the kernel; 2-core AMD EPYC VM, 2026-12-04). Here the caller works too, and the
 * {@code THREADS − 1} helper threads spin for {@link #SPIN_NANOS} after each call before they park, so the next call
 * of a step finds them awake. Chunks are claimed from a counter; which thread runs a chunk never changes what it
 * computes (its range is fixed by its index).
 */
public final class Parallel {
    /**
     * Worker count: every core the JVM sees. To use fewer, start the JVM with {@code -XX:ActiveProcessorCount=N}
     * (e.g. {@code TAV_JAVA_OPTS=-XX:ActiveProcessorCount=2 ./tav …}), which also sizes the JVM's own thread pools.
     */
    public static final int THREADS = Runtime.getRuntime().availableProcessors();
    /** How long an idle helper spins before it parks: longer than the gaps between the ops of a step. */
    static final long SPIN_NANOS = 200_000;

    private static final Helper[] HELPERS = new Helper[Math.max(0, THREADS - 1)];
    /** Held by the thread whose call the helpers work on; another thread calling meanwhile runs its call inline. */
    private static final ReentrantLock OWNER = new ReentrantLock();
    /** Set while a thread runs chunks: a nested call runs inline. */
    private static final ThreadLocal<boolean[]> INSIDE = ThreadLocal.withInitial(() -> new boolean[1]);
    private static volatile Job job;

    static {
        for (int i = 0; i < HELPERS.length; i++) {
            HELPERS[i] = new Helper(i);
            HELPERS[i].start();
        }
    }

    private Parallel() {}

    /** A body over a half-open range [lo, hi). */
    @FunctionalInterface
    public interface Range {
        void run(int lo, int hi);
    }

    /** Runs body over [0, n) in chunks of at least {@code grain} indices, in parallel. */
    public static void forRange(int n, int grain, Range body) {
        if (n <= 0) return;
        int chunks = Math.min(Math.max(1, n / Math.max(1, grain)), THREADS * 4);
        boolean[] inside = INSIDE.get();
        if (HELPERS.length == 0 || chunks == 1 || inside[0] || !OWNER.tryLock()) {
            body.run(0, n);
            return;
        }
        try {
            Job j = new Job(body, n, chunks);
            job = j;
            for (Helper h : HELPERS) if (h.parked) LockSupport.unpark(h);
            inside[0] = true;
            try {
                j.work();
            } finally {
                inside[0] = false;
            }
            while (j.done.get() < chunks) Thread.onSpinWait();
            job = null;
            if (j.failure != null) {
                if (j.failure instanceof RuntimeException e) throw e;
                if (j.failure instanceof Error e) throw e;
                throw new IllegalStateException(j.failure);
            }
        } finally {
            OWNER.unlock();
        }
    }

    /** Runs body(i) for every i in [0, n), in parallel, one index per task. */
    public static void forEach(int n, java.util.function.IntConsumer body) {
        forRange(n, 1, (lo, hi) -> { for (int i = lo; i < hi; i++) body.accept(i); });
    }

    /** One call's chunks: claimed by index from {@code next}, counted in {@code done} when finished. */
    private static final class Job {
        final Range body;
        final int n, chunks;
        final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        volatile Throwable failure;

        Job(Range body, int n, int chunks) {
            this.body = body; this.n = n; this.chunks = chunks;
        }

        /** Runs chunks until none is left. A failed chunk still counts as done; the caller rethrows its failure. */
        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    int lo = (int) ((long) n * c / chunks), hi = (int) ((long) n * (c + 1) / chunks);
                    if (lo < hi && failure == null) body.run(lo, hi);
                } catch (Throwable t) {
                    if (failure == null) failure = t;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    private static final class Helper extends Thread {
        volatile boolean parked;

        Helper(int i) {
            super("tav-parallel-" + (i + 1));
            setDaemon(true);
        }

        @Override public void run() {
            INSIDE.get()[0] = true;
            Job last = null;
            long idleSince = System.nanoTime();
            while (true) {
                Job j = job;
                if (j != null && j != last) {
                    last = j;
                    j.work();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    // the caller sets job before it reads parked: either it sees parked and unparks, or this sees the job
                    if (job == null || job == last) LockSupport.park(this);
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }
}
