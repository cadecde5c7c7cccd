package dev.tav4j.runtime.cuda;

import dev.tav4j.bindings.cuda.CudaException;

/** The device has no room for an allocation even after the pool gave back its cached blocks. */
public final class DeviceOutOfMemoryException extends CudaException {
    private final long requestedBytes;
    private final long freeBytes;
    private final long totalBytes;

    public DeviceOutOfMemoryException(long requestedBytes, long freeBytes, long totalBytes, long poolReserved,
                                      long poolInUse, String cause) {
        super("cuMemAlloc_v2", CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY",
                "out of device memory: asked for " + Bytes.human(requestedBytes) + " (" + requestedBytes
                        + " bytes); the device has " + Bytes.human(freeBytes) + " free of " + Bytes.human(totalBytes)
                        + ", tav4j's pool holds " + Bytes.human(poolReserved) + " (" + Bytes.human(poolInUse)
                        + " in use); try fewer frames or --device cpu. [" + cause + "]");
        this.requestedBytes = requestedBytes;
        this.freeBytes = freeBytes;
        this.totalBytes = totalBytes;
    }

    public long requestedBytes() { return requestedBytes; }

    public long freeBytes() { return freeBytes; }

    public long totalBytes() { return totalBytes; }
}
