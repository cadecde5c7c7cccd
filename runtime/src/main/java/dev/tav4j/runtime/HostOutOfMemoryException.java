package dev.tav4j.runtime;

/**
 * Host memory ran out, or would have: thrown instead of letting the operating system kill the process. The message
 * says how much was asked for, how much is available and held, and what to change.
 */
public final class HostOutOfMemoryException extends RuntimeException {
    public HostOutOfMemoryException(String message) {
        super(message);
    }
}
