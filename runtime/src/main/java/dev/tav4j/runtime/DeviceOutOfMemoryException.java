package dev.tav4j.runtime;

/**
 * A backend's device has no room for an allocation even after its memory pool gave back what it had cached. The
 * message names the backend, what was being allocated (as far as the layers above added it with {@link #during}),
 * how much, what the device and the pool hold, and what to try instead.
 */
public final class DeviceOutOfMemoryException extends RuntimeException {
    /** What the user can do about it; part of every message. */
    public static final String ADVICE = "try fewer frames, --precision bf16 (half the memory of fp32), or --device cpu";

    private final String backend;
    private final long requestedBytes;
    private final long freeBytes;
    private final long totalBytes;
    private final long poolReserved;
    private final long poolInUse;
    private final String what;
    private final String detail;

    /**
     * @param backend the backend whose device is full ("cuda", "cuda-emu")
     * @param detail  the driver's own words, kept at the end of the message in brackets
     */
    public DeviceOutOfMemoryException(String backend, long requestedBytes, long freeBytes, long totalBytes, long poolReserved,
                                      long poolInUse, String detail, Throwable cause) {
        this(backend, requestedBytes, freeBytes, totalBytes, poolReserved, poolInUse, null, detail, cause);
    }

    private DeviceOutOfMemoryException(String backend, long requestedBytes, long freeBytes, long totalBytes, long poolReserved,
                                       long poolInUse, String what, String detail, Throwable cause) {
        super("out of " + backend + " device memory" + (what == null ? "" : " " + what) + ": asked for " + human(requestedBytes)
                + " (" + requestedBytes + " bytes); the device has " + human(freeBytes) + " free of "
                + human(totalBytes) + ", tav4j's pool holds " + human(poolReserved) + " ("
                + human(poolInUse) + " in use); " + ADVICE + ". [" + detail + "]", cause);
        this.backend = backend;
        this.requestedBytes = requestedBytes;
        this.freeBytes = freeBytes;
        this.totalBytes = totalBytes;
        this.poolReserved = poolReserved;
        this.poolInUse = poolInUse;
        this.what = what;
        this.detail = detail;
    }

    /**
     * The same failure with what was going on added in front of what is already known, e.g.
     * {@code during("in DDIM inversion step 3 of 50")} on one that says "for a BF16 tensor [16, 64, 64, 320]".
     */
    public DeviceOutOfMemoryException during(String context) {
        String w = what == null ? context : what + ", " + context;
        DeviceOutOfMemoryException e = new DeviceOutOfMemoryException(backend, requestedBytes, freeBytes, totalBytes, poolReserved,
                poolInUse, w, detail, getCause());
        e.setStackTrace(getStackTrace());
        return e;
    }

    /** Bytes for people: "1.5 GiB" (as the rest of the device messages). */
    private static String human(long bytes) {
        if (bytes < 0) return "? bytes";
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
        return u == 0 ? bytes + " B" : String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** The backend whose device is full. */
    public String backend() { return backend; }

    public long requestedBytes() { return requestedBytes; }

    public long freeBytes() { return freeBytes; }

    public long totalBytes() { return totalBytes; }

    public long poolReservedBytes() { return poolReserved; }

    public long poolInUseBytes() { return poolInUse; }
}
