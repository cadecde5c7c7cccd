package dev.tav4j.runtime;

/**
 * One step of a loop (a denoising step, say), recorded once by {@link Ops#record} and replayed for every step.
 * On the cuda backend the step's launches are captured into a CUDA graph (one launch per replay instead of
 * hundreds); on the cpu backend nothing is recorded and {@link #replay()} simply runs the step again. What differs
 * between steps (the timestep, the DDIM coefficients) must come from device tensors the host rewrites before each
 * replay ({@link Ops#write}), never from Java values baked in at capture.
 */
public interface StepGraph extends AutoCloseable {
    /** Runs the step: enqueues the captured graph, or calls the step body where nothing was captured. */
    void replay();

    /** Whether the device work was captured (false: every replay runs the Java body). */
    boolean captured();

    /** Frees the graph and the device blocks reserved for it. */
    @Override void close();

    /** A "graph" that runs {@code step} on each replay: the cpu backend's, and the fallback where capture is off. */
    static StepGraph eager(Runnable step) {
        return new StepGraph() {
            @Override public void replay() { step.run(); }

            @Override public boolean captured() { return false; }

            @Override public void close() {}
        };
    }
}
