package dev.tav4j.runtime.cuda;

import dev.tav4j.bindings.cuda.CuStream;

/** GPU time of work on a stream, measured between two CUDA events (no host synchronisation in between). */
public final class EventTimer implements AutoCloseable {
    private final long stream;
    private final long start;
    private final long stop;
    private boolean closed;

    public EventTimer(long stream) {
        this.stream = stream;
        this.start = CuStream.eventCreate();
        long s;
        try {
            s = CuStream.eventCreate();
        } catch (RuntimeException e) {
            CuStream.eventDestroy(start);
            throw e;
        }
        this.stop = s;
    }

    public void start() { CuStream.eventRecord(start, stream); }

    /** Records the stop event, waits for it, and returns the milliseconds since {@link #start}. */
    public float stopMillis() {
        CuStream.eventRecord(stop, stream);
        CuStream.eventSynchronize(stop);
        return CuStream.elapsedMillis(start, stop);
    }

    /** Milliseconds of GPU time taken by the work {@code body} enqueues. */
    public float time(Runnable body) {
        start();
        body.run();
        return stopMillis();
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        CuStream.eventDestroy(start);
        CuStream.eventDestroy(stop);
    }
}
