package dev.tav4j.runtime.device;

/**
 * Something a captured step may not do: allocate fresh device memory, synchronise with the host, or copy between
 * host and device. The message names the operation and what to do instead.
 */
public final class StepCaptureException extends IllegalStateException {
    public StepCaptureException(String message) {
        super(message);
    }
}
