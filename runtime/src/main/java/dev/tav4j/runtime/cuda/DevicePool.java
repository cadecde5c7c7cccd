package dev.tav4j.runtime.cuda;

import dev.tav4j.bindings.cuda.CudaException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A caching device-memory pool. Sizes are rounded (powers of two up to 1 MiB, then multiples of 2 MiB) and freed
 * blocks wait in a free list per rounded size, so a diffusion step that asks for the same shapes every time
 * calls cuMemAlloc only in its first step. Blocks go back to the list immediately: every user works on the one
 * stream, so a block's next user is ordered after its last one. On CUDA_ERROR_OUT_OF_MEMORY the pool gives
 * its cached blocks back to the driver and retries once, then throws {@link DeviceOutOfMemoryException}.
 */
public final class DevicePool implements AutoCloseable {
    /** What the pool allocates from: the driver, or a fake in tests. */
    public interface Allocator {
        long alloc(long bytes);

        void free(long ptr);

        /** Waits until the device has finished all work (before memory goes back to the driver). */
        void synchronize();

        long freeBytes();

        long totalBytes();
    }

    static final long MIN_BLOCK = 512;
    static final long SMALL_LIMIT = 1L << 20;
    static final long LARGE_GRANULE = 2L << 20;

    private final Allocator allocator;
    private final TreeMap<Long, ArrayDeque<Long>> free = new TreeMap<>();
    private final Map<Long, Long> live = new HashMap<>();
    private long reserved, inUse, peakReserved, peakInUse, driverAllocs;
    private boolean closed;

    public DevicePool(Allocator allocator) {
        this.allocator = allocator;
    }

    /** The block size a request of {@code bytes} gets. */
    static long roundUp(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative allocation: " + bytes + " bytes");
        if (bytes <= MIN_BLOCK) return MIN_BLOCK;
        if (bytes <= SMALL_LIMIT) return Long.highestOneBit(bytes - 1) << 1;
        return Math.ceilDiv(bytes, LARGE_GRANULE) * LARGE_GRANULE;
    }

    /** A device block of at least {@code bytes} bytes. */
    public synchronized long take(long bytes) {
        if (closed) throw new IllegalStateException("device pool used after close");
        long size = roundUp(bytes);
        ArrayDeque<Long> list = free.get(size);
        long ptr;
        if (list != null && !list.isEmpty()) {
            ptr = list.pop();
        } else {
            ptr = allocate(bytes, size);
            reserved += size;
            peakReserved = Math.max(peakReserved, reserved);
        }
        live.put(ptr, size);
        inUse += size;
        peakInUse = Math.max(peakInUse, inUse);
        return ptr;
    }

    private long allocate(long requested, long size) {
        try {
            driverAllocs++;
            return allocator.alloc(size);
        } catch (CudaException first) {
            if (!first.isOutOfMemory()) throw first;
            trim();
            try {
                driverAllocs++;
                return allocator.alloc(size);
            } catch (CudaException second) {
                if (!second.isOutOfMemory()) throw second;
                long f = -1, t = -1;
                try { f = allocator.freeBytes(); t = allocator.totalBytes(); } catch (RuntimeException ignored) { }
                throw new DeviceOutOfMemoryException(requested, f, t, reserved, inUse, second.getMessage());
            }
        }
    }

    /** Returns a block taken from this pool; it is reused by a later {@link #take} of the same rounded size. */
    public synchronized void give(long ptr) {
        if (closed) return;
        Long size = live.remove(ptr);
        if (size == null) throw new IllegalArgumentException("0x" + Long.toHexString(ptr) + " is not a live block of this pool");
        inUse -= size;
        free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(ptr);
    }

    /** Gives every cached (unused) block back to the driver; returns how many bytes that was. */
    public synchronized long trim() {
        if (free.isEmpty()) return 0;
        allocator.synchronize();
        long freed = 0;
        for (Map.Entry<Long, ArrayDeque<Long>> e : free.entrySet())
            for (long p : e.getValue()) {
                allocator.free(p);
                freed += e.getKey();
            }
        free.clear();
        reserved -= freed;
        return freed;
    }

    /** Bytes held from the driver (in use + cached). */
    public synchronized long reservedBytes() { return reserved; }

    public synchronized long inUseBytes() { return inUse; }

    public synchronized long peakReservedBytes() { return peakReserved; }

    public synchronized long peakInUseBytes() { return peakInUse; }

    /** Starts new peaks at what is reserved and in use now. */
    public synchronized void resetPeak() {
        peakInUse = inUse;
        peakReserved = reserved;
    }

    /** How many times the pool has called the driver's allocator (retries included). */
    public synchronized long driverAllocations() { return driverAllocs; }

    /** Frees everything, blocks still in use included (the context is going away). */
    @Override public synchronized void close() {
        if (closed) return;
        trim();
        for (long p : live.keySet()) allocator.free(p);
        live.clear();
        reserved = inUse = 0;
        closed = true;
    }

    @Override public synchronized String toString() {
        return "DevicePool[reserved " + Bytes.human(reserved) + ", in use " + Bytes.human(inUse) + ", peak "
                + Bytes.human(peakReserved) + ", " + driverAllocs + " cuMemAlloc calls]";
    }
}
