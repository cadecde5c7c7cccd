package dev.tav4j.runtime.cuda;

import dev.tav4j.bindings.cuda.CudaException;

/**
 * The device has no room for an allocation even after the pool gave back its cached blocks. The message says
 * what was being allocated (as far as the layers above added it with {@link #during}), how much, what the device
 * and tav4j's pool hold, and what to try instead.
 */
public final class DeviceOutOfMemoryException extends CudaException {
    /** What the user can do about it; part of every message. */
    public static final String ADVICE = "try fewer frames, --precision bf16 (half the memory of fp32), or --device cpu";

    private final long requestedBytes;
    private final long freeBytes;
    private final long totalBytes;
    private final long poolReserved;
    private final long poolInUse;
    private final String what;
    private final String cause;

    public DeviceOutOfMemoryException(long requestedBytes, long freeBytes, long totalBytes, long poolReserved,
                                      long poolInUse, String cause) {
        this(requestedBytes, freeBytes, totalBytes, poolReserved, poolInUse, null, cause);
    }

    private DeviceOutOfMemoryException(long requestedBytes, long freeBytes, long totalBytes, long poolReserved,
                                       long poolInUse, String what, String cause) {
        super("cuMemAlloc_v2", CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY",
                "out of device memory" + (what == null ? "" : " " + what) + ": asked for " + Bytes.human(requestedBytes)
                        + " (" + requestedBytes + " bytes); the device has " + Bytes.human(freeBytes) + " free of "
                        + Bytes.human(totalBytes) + ", tav4j's pool holds " + Bytes.human(poolReserved) + " ("
                        + Bytes.human(poolInUse) + " in use); " + ADVICE + ". [" + cause + "]");
        this.requestedBytes = requestedBytes;
        this.freeBytes = freeBytes;
        this.totalBytes = totalBytes;
        this.poolReserved = poolReserved;
        this.poolInUse = poolInUse;
        this.what = what;
        this.cause = cause;
    }

    /**
     * The same failure with what was going on added in front of what is already known, e.g.
     * {@code during("DDIM inversion step 3 of 50")} on one that says "for tensor BF16 [16, 64, 64, 320]".
     */
    public DeviceOutOfMemoryException during(String context) {
        String w = what == null ? context : what + ", " + context;
        DeviceOutOfMemoryException e = new DeviceOutOfMemoryException(requestedBytes, freeBytes, totalBytes, poolReserved,
                poolInUse, w, cause);
        e.setStackTrace(getStackTrace());
        return e;
    }

    public long requestedBytes() { return requestedBytes; }

    public long freeBytes() { return freeBytes; }

    public long totalBytes() { return totalBytes; }

    public long poolReservedBytes() { return poolReserved; }

    public long poolInUseBytes() { return poolInUse; }
}
