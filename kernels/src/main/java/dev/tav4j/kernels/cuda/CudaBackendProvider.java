package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.cuda.CudaDeviceApi;
import dev.tav4j.runtime.cuda.CudaProbe;

/**
 * The "cuda" backend: {@link CudaOps} over the CUDA driver and cuBLAS. Availability comes from
 * {@link CudaProbe} (driver, device, compute capability, driver version vs the PTX, cuBLAS). The host emulation
 * is deliberately not offered here: a GPU backend never silently falls back to the host.
 */
public final class CudaBackendProvider implements BackendProvider {
    @Override public String name() { return "cuda"; }

    @Override public int priority() { return 10; }

    @Override public Availability probe() {
        return CudaProbe.probe().availability();
    }

    /** The probe's full report (one fact per line), for {@code tav info}. */
    public static String report() {
        return CudaProbe.probe().text();
    }

    @Override public Ops create() {
        return new CudaOps(CudaDeviceApi.open(CudaDeviceApi.DEFAULT_PTX_RESOURCE), "cuda");
    }
}
