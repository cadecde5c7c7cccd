package dev.tav4j.runtime.device;

/**
 * Something a captured step may not do: allocate fresh device memory, synchronise with the host, or copy between
 * host and device; or a capture the device driver refused. The message names the operation and what to do instead.
 */
public final class StepCaptureException extends IllegalStateException {
    private final boolean curedByWarmRun;

    public StepCaptureException(String message) {
        this(message, false);
    }

    /** A capture the device's driver refused ({@code cause}: its error); an eager run does not cure it. */
    public StepCaptureException(String message, Throwable cause) {
        super(message, cause);
        this.curedByWarmRun = false;
    }

    /** {@code curedByWarmRun}: one more eager run of the step fills what was missing (the pool's cache), so try again after it. */
    public StepCaptureException(String message, boolean curedByWarmRun) {
        super(message);
        this.curedByWarmRun = curedByWarmRun;
    }

    /** Whether an eager run of the step would leave what the capture lacked, so that a later capture can succeed. */
    public boolean curedByWarmRun() { return curedByWarmRun; }
}
