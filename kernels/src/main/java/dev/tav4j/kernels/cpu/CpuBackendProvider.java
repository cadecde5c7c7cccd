package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Parallel;

/** The pure-Java backend: always available, lowest priority. */
public final class CpuBackendProvider implements BackendProvider {
    @Override public String name() { return "cpu"; }

    @Override public int priority() { return 0; }

    @Override public Availability probe(BackendSettings settings) {
        String kernels = !VectorApi.PRESENT ? "scalar loops (no jdk.incubator.vector: add --add-modules jdk.incubator.vector)"
                : settings.cpuVectorApi() ? Vec.describe() : "scalar loops (Vector API off in the settings)";
        return Availability.yes("pure Java, " + Parallel.THREADS + " threads, " + kernels);
    }

    /** The cpu backend; it computes in F32 whatever {@code settings} ask (compare {@link Ops#precision()}). */
    @Override public Ops create(BackendSettings settings) { return new CpuOps(settings); }
}
