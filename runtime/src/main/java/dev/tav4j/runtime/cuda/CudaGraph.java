package dev.tav4j.runtime.cuda;

import dev.tav4j.bindings.cuda.CuStream;

/**
 * A CUDA graph captured from a stream: the kernels, copies and memsets that a piece of code enqueued, replayed
 * with one launch. Capture needs every allocation done beforehand (a warm {@link DevicePool}): allocating or
 * freeing device memory while capturing invalidates the capture. Kernel arguments are baked in at capture time.
 */
public final class CudaGraph implements AutoCloseable {
    private final long graph;
    private final long exec;
    private boolean closed;

    private CudaGraph(long graph, long exec) {
        this.graph = graph;
        this.exec = exec;
    }

    /** Captures what {@code body} enqueues on {@code stream} (capture mode thread-local) and instantiates it. */
    public static CudaGraph capture(long stream, Runnable body) {
        return capture(stream, CuStream.CAPTURE_THREAD_LOCAL, body);
    }

    public static CudaGraph capture(long stream, int mode, Runnable body) {
        CuStream.beginCapture(stream, mode);
        long g;
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            try {
                long broken = CuStream.endCapture(stream);
                if (broken != 0) CuStream.graphDestroy(broken);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        g = CuStream.endCapture(stream);
        try {
            return new CudaGraph(g, CuStream.graphInstantiate(g, 0));
        } catch (RuntimeException e) {
            CuStream.graphDestroy(g);
            throw e;
        }
    }

    /** Ends a capture begun with {@code CuStream.beginCapture} on {@code stream} and instantiates the graph. */
    public static CudaGraph endCapture(long stream) {
        long g = CuStream.endCapture(stream);
        try {
            return new CudaGraph(g, CuStream.graphInstantiate(g, 0));
        } catch (RuntimeException e) {
            CuStream.graphDestroy(g);
            throw e;
        }
    }

    /** Ends a failed capture on {@code stream} and destroys whatever was recorded; errors are added to {@code primary}. */
    public static void abortCapture(long stream, Throwable primary) {
        try {
            long broken = CuStream.endCapture(stream);
            if (broken != 0) CuStream.graphDestroy(broken);
        } catch (RuntimeException suppressed) {
            if (primary != null) primary.addSuppressed(suppressed);
        }
    }

    /** Enqueues the whole graph on {@code stream}. */
    public void launch(long stream) {
        if (closed) throw new IllegalStateException("CUDA graph launched after close");
        CuStream.graphLaunch(exec, stream);
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        CuStream.graphExecDestroy(exec);
        CuStream.graphDestroy(graph);
    }
}
