package dev.tav4j.model.plan;

/** A run refused before it loads anything: its memory plan does not fit what is free. The message is one line. */
public final class NotEnoughMemoryException extends RuntimeException {
    private final transient MemoryPlan plan;

    public NotEnoughMemoryException(MemoryPlan plan, String message) {
        super(message);
        this.plan = plan;
    }

    /** The plan that did not fit. */
    public MemoryPlan plan() { return plan; }
}
