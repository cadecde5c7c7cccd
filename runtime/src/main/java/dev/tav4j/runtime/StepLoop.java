package dev.tav4j.runtime;

import dev.tav4j.runtime.device.StepCaptureException;

/**
 * Runs the same step body many times, as a denoising loop does: the first run eagerly (it warms the device pool
 * and every lazily created workspace, so the capture needs no fresh memory), the second recorded into a
 * {@link StepGraph} and replayed, every later one replayed. The body must take whatever changes between steps
 * from device tensors written before {@link #run()} ({@link Ops#write}).
 *
 * <p>With graphs off (for this loop, or everywhere by the backend's {@link BackendSettings#cudaGraphs()}:
 * {@code --no-cuda-graphs}, {@code -Dtav.cuda.graphs=false}) or on a backend that does not capture (cpu), every run is
 * eager. A capture that lacked a cached memory block runs eagerly instead (which caches it) and is tried again at the
 * next run, up to {@link #MAX_CAPTURE_TRIES} times: one eager run is not always enough warm-up, since a step that
 * creates long-lived buffers after its temporaries peaked (a first tuning step creating gradients and optimizer state)
 * leaves fewer cached blocks than its next run needs. If a capture fails because the step did
 * something a graph cannot hold or the driver refused it (any other {@link StepCaptureException}), the reason is
 * printed once and the loop goes on eagerly: a capture executes nothing, so no step is lost or run twice.
 */
public final class StepLoop implements AutoCloseable {
    /** Captures tried before giving up when each lacked a cached block. */
    static final int MAX_CAPTURE_TRIES = 3;

    private final Ops ops;
    private final Runnable body;
    private boolean graphs;
    private StepGraph graph;
    private int runs, replays, captureTries;
    private String fallbackReason;

    /**
     * {@code graphs}: capture on backends that can ({@link Ops#capturesSteps()}) and whose settings allow it
     * ({@link BackendSettings#cudaGraphs()}).
     */
    public StepLoop(Ops ops, boolean graphs, Runnable body) {
        this.ops = ops;
        this.body = body;
        this.graphs = graphs && ops.capturesSteps() && ops.settings().cudaGraphs();
    }

    /**
     * Whether a loop captures unless its caller says otherwise: true. The backend's settings still turn capture off
     * everywhere ({@link BackendSettings#cudaGraphs()}, read by the constructor), so callers need not pass them on.
     */
    public static boolean graphsByDefault() {
        return true;
    }

    /** Runs the step once (eagerly, by capturing, or by replaying). */
    public void run() {
        runs++;
        if (graph != null) {
            graph.replay();
            replays++;
            return;
        }
        if (!graphs || runs == 1) {
            body.run();
            return;
        }
        try {
            captureTries++;
            graph = ops.record(body);
        } catch (StepCaptureException e) {
            if (e.curedByWarmRun() && captureTries < MAX_CAPTURE_TRIES) {
                body.run();  // caches what the capture lacked; the next run tries again
                return;
            }
            graphs = false;
            fallbackReason = e.getMessage();
            System.err.println("CUDA graph capture failed, running the steps uncaptured: " + e.getMessage());
            body.run();
            return;
        }
        graph.replay();
        replays++;
    }

    /** Whether the step is being replayed from a captured graph. */
    public boolean captured() { return graph != null && graph.captured(); }

    /** How many runs were replays of the recorded step. */
    public int replays() { return replays; }

    /** Why capture was given up, or null. */
    public String fallbackReason() { return fallbackReason; }

    @Override public void close() {
        if (graph != null) graph.close();
        graph = null;
    }
}
