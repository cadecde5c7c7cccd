package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.DType;
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

    /** System property giving the precision {@link #create()} uses: fp32 (default), bf16 or fp16. */
    public static final String PRECISION_PROPERTY = "tav.cuda.precision";

    /** The backend in the precision of {@code -Dtav.cuda.precision} (fp32 when unset). */
    @Override public Ops create() {
        return open(CudaOps.parsePrecision(System.getProperty(PRECISION_PROPERTY, "fp32")));
    }

    /**
     * The cuda backend storing weights and activations as {@code precision} (F32, BF16 or F16; fp32 accumulation
     * always). Library use: {@code CudaBackendProvider.open(DType.BF16)}, or
     * {@code ((CudaOps) Backends.select("cuda")).withPrecision(DType.BF16)}.
     */
    public static CudaOps open(DType precision) {
        return new CudaOps(CudaDeviceApi.open(CudaDeviceApi.DEFAULT_PTX_RESOURCE), "cuda", precision);
    }
}
