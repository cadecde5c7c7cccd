package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.Ops;

/**
 * The "cuda" backend: {@link CudaOps} over the CUDA driver. The probe must delegate to the bindings' CudaProbe
 * and create() must open the bindings' CudaDeviceApi with {@link Ptx#bytes()}; until those are merged it
 * reports that plainly and is never selected. The emulation is deliberately not offered here: a GPU backend
 * never silently falls back to the host.
 */
public final class CudaBackendProvider implements BackendProvider {
    static final String NOT_BUILT = "CUDA bindings not built yet";

    @Override public String name() { return "cuda"; }

    @Override public int priority() { return 10; }

    @Override public Availability probe() {
        return Availability.no(NOT_BUILT);
    }

    @Override public Ops create() {
        throw new IllegalStateException("backend 'cuda' is not available: " + NOT_BUILT);
    }
}
