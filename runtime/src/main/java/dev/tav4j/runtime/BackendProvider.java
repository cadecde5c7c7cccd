package dev.tav4j.runtime;

/** A backend found through {@link java.util.ServiceLoader}; {@link #probe()} says whether it can run here and why not. */
public interface BackendProvider {
    /** "cpu", "cuda", … */
    String name();

    /** Higher is preferred by {@code auto}. */
    int priority();

    /** Whether this backend can run on this machine, and a human-readable reason either way. */
    Availability probe();

    /** Creates the backend; only called when {@link #probe()} said it is available. */
    Ops create();

    record Availability(boolean available, String reason) {
        public static Availability yes(String reason) { return new Availability(true, reason); }
        public static Availability no(String reason) { return new Availability(false, reason); }
    }
}
