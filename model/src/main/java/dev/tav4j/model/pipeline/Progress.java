package dev.tav4j.model.pipeline;

/** Progress and cancellation for long stages. Called on the thread that runs the stage. */
public interface Progress {
    Progress NONE = (stage, step, total) -> {};

    /** Called after each step of a stage ("invert", "edit", "tune", …). */
    void step(String stage, int step, int total);

    /** A figure measured during the current step (e.g. "loss"), reported before {@link #step}. */
    default void metric(String name, double value) {}

    /** Something a step of {@code stage} wants the user to know, e.g. a skipped tuning step; reported after the step's metrics. */
    default void event(String stage, int step, String message) {}

    /** Polled between steps; true stops the stage with a {@link java.util.concurrent.CancellationException}. */
    default boolean cancelled() { return false; }
}
