package dev.tav4j.kernels.cuda;

/**
 * The CUDA backend over the host emulation, named "cuda-emu" so it can never pass for a GPU. For tests and
 * debugging only: it is not registered with the ServiceLoader, so {@code auto} never picks it.
 */
public final class EmulatedBackend {
    public static final String NAME = "cuda-emu";

    private EmulatedBackend() {}

    /** CudaOps over a fresh {@link EmulatedDeviceApi}; throws with the reason when the library is not built. */
    public static CudaOps create() {
        return new CudaOps(EmulatedDeviceApi.open(), NAME);
    }
}
