package dev.tav4j.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A cache of host memory segments keyed by exact byte size. Model activations repeat the same sizes every
 * denoising or tuning step, so after the first step every allocation is a cache hit. Segments come from an
 * automatic arena: memory nobody returns is still reclaimed by the GC, never leaked.
 */
public final class HostMemoryPool {
    public static final HostMemoryPool GLOBAL = new HostMemoryPool(Long.getLong("tav.hostPoolBytes", 8L << 30));

    private static final long ALIGN = 64;
    private final Map<Long, ArrayDeque<MemorySegment>> free = new HashMap<>();
    private final long maxCachedBytes;
    private long cachedBytes;
    private long liveBytes;
    private long peakLiveBytes;

    public HostMemoryPool(long maxCachedBytes) {
        this.maxCachedBytes = maxCachedBytes;
    }

    /** A segment of exactly {@code bytes} bytes, 64-byte aligned; its contents are unspecified. */
    public synchronized MemorySegment take(long bytes) {
        ArrayDeque<MemorySegment> q = free.get(bytes);
        MemorySegment s = q == null ? null : q.pollFirst();
        if (s != null) {
            cachedBytes -= bytes;
        } else {
            try {
                s = Arena.ofAuto().allocate(Math.max(bytes, 1), ALIGN);
            } catch (OutOfMemoryError e) {
                trim();
                throw new OutOfMemoryError("cannot allocate " + bytes + " bytes of host memory for a tensor ("
                        + liveBytes + " bytes in use): " + e.getMessage());
            }
            if (bytes == 0) s = s.asSlice(0, 0);
        }
        liveBytes += bytes;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return s;
    }

    synchronized void give(MemorySegment s) {
        long bytes = s.byteSize();
        liveBytes -= bytes;
        if (cachedBytes + bytes > maxCachedBytes) return; // let the GC reclaim it
        free.computeIfAbsent(bytes, k -> new ArrayDeque<>()).addFirst(s);
        cachedBytes += bytes;
    }

    /** Drops every cached segment. */
    public synchronized void trim() {
        free.clear();
        cachedBytes = 0;
    }

    public synchronized long liveBytes() { return liveBytes; }

    public synchronized long peakLiveBytes() { return peakLiveBytes; }

    public synchronized void resetPeak() { peakLiveBytes = liveBytes; }
}
