package dev.tav4j.runtime;

import dev.tav4j.bindings.cuda.CudaException;
import dev.tav4j.runtime.device.StepCaptureException;

/**
 * Runs the same step body many times, as a denoising loop does: the first run eagerly (it warms the device pool
 * and every lazily created workspace, so the capture needs no fresh memory), the second recorded into a
 * {@link StepGraph} and replayed, every later one replayed. The body must take whatever changes between steps
 * from device tensors written before {@link #run()} ({@link Ops#write}).
 *
 * <p>With graphs off ({@link #DISABLE_PROPERTY}, {@code --no-cuda-graphs}) or on a backend that does not capture
 * (cpu), every run is eager. A capture that lacked a cached memory block runs eagerly instead (which caches it) and
 * is tried again at the next run, up to {@link #MAX_CAPTURE_TRIES} times: one eager run is not always enough warm-up,
 * since a step that creates long-lived buffers after its temporaries peaked (a first tuning step creating gradients
 * and optimizer state) leaves fewer cached blocks than its next run needs. If a capture fails because the step did
 * something a graph cannot hold (any other {@link StepCaptureException}) or the driver refused it, the reason is
 * printed once and the loop goes on eagerly: a capture executes nothing, so no step is lost or run twice.
 */
public final class StepLoop implements AutoCloseable {
    /** System property: {@code -Dtav.cuda.graphs=false} turns step capture off everywhere (debugging). */
    public static final String DISABLE_PROPERTY = "tav.cuda.graphs";
    /** Captures tried before giving up when each lacked a cached block. */
    static final int MAX_CAPTURE_TRIES = 3;

    private final Ops ops;
    private final Runnable body;
    private boolean graphs;
    private StepGraph graph;
    private int runs, replays, captureTries;
    private String fallbackReason;

    /** {@code graphs}: capture on backends that can ({@link Ops#capturesSteps()}). */
    public StepLoop(Ops ops, boolean graphs, Runnable body) {
        this.ops = ops;
        this.body = body;
        this.graphs = graphs && ops.capturesSteps();
    }

    /** Whether graphs are on unless asked otherwise: true, or the value of {@link #DISABLE_PROPERTY}. */
    public static boolean graphsByDefault() {
        return !"false".equalsIgnoreCase(System.getProperty(DISABLE_PROPERTY, "true"));
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
        } catch (StepCaptureException | CudaException e) {
            if (e instanceof CudaException c && c.isOutOfMemory()) throw c;
            if (e instanceof StepCaptureException s && s.curedByWarmRun() && captureTries < MAX_CAPTURE_TRIES) {
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
