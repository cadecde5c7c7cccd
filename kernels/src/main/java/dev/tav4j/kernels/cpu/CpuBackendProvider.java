package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Parallel;

/** The pure-Java backend: always available, lowest priority. */
public final class CpuBackendProvider implements BackendProvider {
    @Override public String name() { return "cpu"; }

    @Override public int priority() { return 0; }

    @Override public Availability probe() {
        return Availability.yes("pure Java, " + Parallel.THREADS + " threads, Vector API " + Vec.S);
    }

    @Override public Ops create() { return new CpuOps(); }
}
