package dev.tav4j.runtime;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A cache of host memory segments keyed by exact byte size. Model activations repeat the same sizes every
 * denoising or tuning step, so after the first step every allocation is a cache hit. Segments come from
 * {@link NativeHeap}, outside the JVM's direct-memory limit, and are freed by the GC's cleanup once unreachable:
 * memory nobody returns is still reclaimed, never leaked.
 */
public final class HostMemoryPool {
    /** The pool host tensors use: up to 8 GiB cached unless an entry point sets another limit ({@link #limitCache}). */
    public static final HostMemoryPool GLOBAL = new HostMemoryPool(8L << 30);

    /** Requests from this size up are checked against the machine's available memory before they are made. */
    private static final long CHECK_ABOVE = 16L << 20;
    private final Map<Long, ArrayDeque<MemorySegment>> free = new HashMap<>();
    private long maxCachedBytes;
    private long cachedBytes;
    private long liveBytes;
    private long peakLiveBytes;

    public HostMemoryPool(long maxCachedBytes) {
        this.maxCachedBytes = maxCachedBytes;
    }

    /** Caches at most {@code maxCachedBytes} of returned segments from now on (what is cached beyond it stays until reused). */
    public synchronized void limitCache(long maxCachedBytes) {
        this.maxCachedBytes = maxCachedBytes;
    }

    /**
     * A segment of exactly {@code bytes} bytes, 64-byte aligned; its contents are unspecified. Throws
     * {@link HostOutOfMemoryException} (naming the sizes) when the machine cannot hold it, rather than letting the
     * kernel's OOM killer end the process later.
     */
    public synchronized MemorySegment take(long bytes) {
        ArrayDeque<MemorySegment> q = free.get(bytes);
        MemorySegment s = q == null ? null : q.pollFirst();
        if (s != null) {
            cachedBytes -= bytes;
        } else {
            s = fresh(bytes);
            if (bytes == 0) s = s.asSlice(0, 0);
        }
        liveBytes += bytes;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return s;
    }

    private MemorySegment fresh(long bytes) {
        // Linux overcommits: a large malloc succeeds and the process is killed when the pages are touched, so large
        // requests are checked against what the machine has available first.
        boolean large = bytes >= CHECK_ABOVE;
        for (int attempt = 0; ; attempt++) {
            boolean fits = !large || bytes <= HostMemory.availableBytes();
            MemorySegment s = null;
            if (fits) {
                try {
                    s = NativeHeap.allocate(Math.max(bytes, 1));
                } catch (OutOfMemoryError e) {  // the arena fallback's direct-memory limit
                    s = null;
                }
            }
            if (s != null) return s;
            if (attempt == 2)
                throw new HostOutOfMemoryException("out of host memory: a tensor of " + HostMemory.format(bytes)
                        + " does not fit (" + HostMemory.format(HostMemory.availableBytes()) + " available, "
                        + HostMemory.format(liveBytes) + " held by tensors); use fewer frames or a smaller size, "
                        + "or a machine with more memory");
            // cached and unreachable segments are only freed by the GC's cleanup: drop the cache and give it a chance
            trim();
            System.gc();
            try {
                Thread.sleep(50L << attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
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

    /** Bytes of released segments kept for reuse. */
    public synchronized long cachedBytes() { return cachedBytes; }

    public synchronized long peakLiveBytes() { return peakLiveBytes; }

    public synchronized void resetPeak() { peakLiveBytes = liveBytes; }
}
