package dev.tav4j.runtime;

import java.util.List;

/**
 * A backend found through {@link java.util.ServiceLoader}; {@link #probe} says whether it can run here and why not.
 * Settings come in as a value ({@link BackendSettings}), never from system properties or the environment.
 */
public interface BackendProvider {
    /** "cpu", "cuda", … */
    String name();

    /** Higher is preferred by {@code auto}. */
    int priority();

    /** Whether {@code auto} may pick this backend (false for a test-only one such as the host emulation "cuda-emu"). */
    default boolean selectedByAuto() { return true; }

    /** Whether this backend can run on this machine with these settings, and a human-readable reason either way. */
    Availability probe(BackendSettings settings);

    /** {@link #probe(BackendSettings)} with {@link BackendSettings#DEFAULTS}. */
    default Availability probe() { return probe(BackendSettings.DEFAULTS); }

    /** Creates the backend; only called when {@link #probe} said it is available. */
    Ops create(BackendSettings settings);

    /** {@link #create(BackendSettings)} with {@link BackendSettings#DEFAULTS}. */
    default Ops create() { return create(BackendSettings.DEFAULTS); }

    /** What the probe found, one fact per line, for {@code tav info} (empty when there is nothing beyond the reason). */
    default List<String> details(BackendSettings settings) { return List.of(); }

    record Availability(boolean available, String reason) {
        public static Availability yes(String reason) { return new Availability(true, reason); }
        public static Availability no(String reason) { return new Availability(false, reason); }
    }
}
