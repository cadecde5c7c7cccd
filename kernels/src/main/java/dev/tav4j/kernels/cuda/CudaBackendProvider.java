package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.cuda.CudaDeviceApi;
import dev.tav4j.runtime.cuda.CudaProbe;

import java.util.List;

/**
 * The "cuda" backend: {@link CudaOps} over the CUDA driver and cuBLAS. Availability comes from
 * {@link CudaProbe} (driver, device, compute capability, driver version vs the PTX, cuBLAS), which looks for the
 * libraries where the settings say ({@link BackendSettings#libraryEnvironment()}). The host emulation is deliberately
 * not offered here: a GPU backend never silently falls back to the host.
 */
public final class CudaBackendProvider implements BackendProvider {
    @Override public String name() { return "cuda"; }

    @Override public int priority() { return 10; }

    @Override public Availability probe(BackendSettings settings) {
        return CudaProbe.probe(settings).availability();
    }

    /** The probe's full report, one fact per line, for {@code tav info}. */
    @Override public List<String> details(BackendSettings settings) {
        return CudaProbe.probe(settings).text().lines().toList();
    }

    /**
     * The cuda backend set up by {@code settings}: weights and activations stored as its precision (F32, BF16 or F16;
     * fp32 accumulation always), its tensor-core, fusion and graph switches. Library use:
     * {@code Backends.select("cuda", BackendSettings.DEFAULTS.withPrecision(DType.BF16))}.
     */
    @Override public Ops create(BackendSettings settings) {
        return open(settings);
    }

    /** As {@link #create}, typed. */
    public static CudaOps open(BackendSettings settings) {
        CudaProbe.searchIn(settings);
        return new CudaOps(CudaDeviceApi.open(CudaDeviceApi.DEFAULT_PTX_RESOURCE), "cuda", settings);
    }
}
