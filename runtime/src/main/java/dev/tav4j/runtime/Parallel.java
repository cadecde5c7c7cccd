package dev.tav4j.runtime;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/** Splits index ranges over all cores. Work items are coarse (rows, images, heads), never single elements. */
public final class Parallel {
    /**
     * Worker count: every core the JVM sees. To use fewer, start the JVM with {@code -XX:ActiveProcessorCount=N}
     * (e.g. {@code TAV_JAVA_OPTS=-XX:ActiveProcessorCount=2 ./tav …}), which also sizes the JVM's own thread pools.
     */
    public static final int THREADS = Runtime.getRuntime().availableProcessors();
    private static final ForkJoinPool POOL = THREADS <= 1 ? null : new ForkJoinPool(THREADS);

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
        if (POOL == null || chunks == 1 || java.util.concurrent.ForkJoinTask.getPool() == POOL) { // nested: run inline
            body.run(0, n);
            return;
        }
        POOL.invoke(new Split(body, n, chunks, 0, chunks));
    }

    /** Runs body(i) for every i in [0, n), in parallel, one index per task. */
    public static void forEach(int n, java.util.function.IntConsumer body) {
        forRange(n, 1, (lo, hi) -> { for (int i = lo; i < hi; i++) body.accept(i); });
    }

    private static final class Split extends RecursiveAction {
        private final Range body;
        private final int n, chunks, c0, c1;

        Split(Range body, int n, int chunks, int c0, int c1) {
            this.body = body; this.n = n; this.chunks = chunks; this.c0 = c0; this.c1 = c1;
        }

        @Override protected void compute() {
            if (c1 - c0 == 1) {
                int lo = (int) ((long) n * c0 / chunks), hi = (int) ((long) n * c1 / chunks);
                if (lo < hi) body.run(lo, hi);
                return;
            }
            int mid = (c0 + c1) >>> 1;
            invokeAll(new Split(body, n, chunks, c0, mid), new Split(body, n, chunks, mid, c1));
        }
    }
}
