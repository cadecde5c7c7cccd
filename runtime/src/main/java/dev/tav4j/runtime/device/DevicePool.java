package dev.tav4j.runtime.device;

import dev.tav4j.runtime.DeviceOutOfMemoryException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A caching device-memory pool. Sizes are rounded (powers of two up to 1 MiB, then multiples of 2 MiB) and freed
 * blocks wait in a free list per rounded size, so a diffusion step that asks for the same shapes every time
 * calls cuMemAlloc only in its first step. Blocks go back to the list immediately: every user works on the one
 * stream, so a block's next user is ordered after its last one. On CUDA_ERROR_OUT_OF_MEMORY the pool gives
 * its cached blocks back to the driver and retries once, then throws {@link DeviceOutOfMemoryException}.
 *
 * <p>Step capture ({@link #beginCapture()}): while a step is recorded into a graph the pool serves requests only
 * from cached blocks (a driver allocation would be a fresh, unrecorded address: {@link StepCaptureException}),
 * and every block the step touched is reserved for the graph at {@link #endCapture()}: within the step blocks are
 * reused as usual (the replay runs in the same order), but outside it nobody gets them until the graph closes,
 * so a replay never overwrites another tensor. Reserved bytes count as in use.
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

        /** Whether {@code e}, thrown by {@link #alloc}, says the device is out of memory (the pool then trims and retries once). */
        default boolean isOutOfMemory(RuntimeException e) { return false; }
    }

    static final long MIN_BLOCK = 512;
    static final long SMALL_LIMIT = 1L << 20;
    static final long LARGE_GRANULE = 2L << 20;

    private final String backend;
    private final Allocator allocator;
    private final TreeMap<Long, ArrayDeque<Long>> free = new TreeMap<>();
    private final Map<Long, Long> live = new HashMap<>();
    private long reserved, inUse, peakReserved, peakInUse, driverAllocs, graphHeld;
    private boolean closed;
    // during a capture: every block taken or given, and those taken (a block still live at the end escaped the step)
    private Set<Long> touched, takenInCapture;
    private final Set<Reservation> reservations = new HashSet<>();

    /** A pool of the "cuda" backend's device. */
    public DevicePool(Allocator allocator) {
        this("cuda", allocator);
    }

    /** {@code backend}: whose device this is, for the out-of-memory message ("cuda", "cuda-emu"). */
    public DevicePool(String backend, Allocator allocator) {
        this.backend = backend;
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
            if (touched != null)
                throw new StepCaptureException("a captured step asked for " + Bytes.human(bytes) + " of fresh device memory"
                        + " (no cached block of " + Bytes.human(size) + "): allocate the step's buffers before the capture,"
                        + " or run the step once uncaptured so the pool caches every workspace it needs", true);
            ptr = allocate(bytes, size);
            reserved += size;
            peakReserved = Math.max(peakReserved, reserved);
        }
        live.put(ptr, size);
        if (touched != null) {
            touched.add(ptr);
            takenInCapture.add(ptr);
        }
        inUse += size;
        peakInUse = Math.max(peakInUse, inUse);
        return ptr;
    }

    private long allocate(long requested, long size) {
        try {
            driverAllocs++;
            return allocator.alloc(size);
        } catch (RuntimeException first) {
            if (!allocator.isOutOfMemory(first)) throw first;
            trim();
            try {
                driverAllocs++;
                return allocator.alloc(size);
            } catch (RuntimeException second) {
                if (!allocator.isOutOfMemory(second)) throw second;
                long f = -1, t = -1;
                try { f = allocator.freeBytes(); t = allocator.totalBytes(); } catch (RuntimeException ignored) { }
                throw new DeviceOutOfMemoryException(backend, requested, f, t, reserved, inUse, second.getMessage(), second);
            }
        }
    }

    /** Returns a block taken from this pool; it is reused by a later {@link #take} of the same rounded size. */
    public synchronized void give(long ptr) {
        if (closed) return;
        Long size = live.remove(ptr);
        if (size == null) throw new IllegalArgumentException("0x" + Long.toHexString(ptr) + " is not a live block of this pool");
        if (touched != null) touched.add(ptr);
        inUse -= size;
        free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(ptr);
    }

    // ---------------------------------------------------------------- step capture

    /** Blocks a captured step used, held back from other users until the graph that replays them is closed. */
    public final class Reservation implements AutoCloseable {
        private final long[] pointers;
        private final long[] sizes;
        private final long bytes;
        private boolean released;

        private Reservation(long[] pointers, long[] sizes, long bytes) {
            this.pointers = pointers;
            this.sizes = sizes;
            this.bytes = bytes;
        }

        public long bytes() { return bytes; }

        public int blocks() { return pointers.length; }

        /** The blocks go back to the free lists (the next user is ordered after the graph's last replay). */
        @Override public void close() {
            synchronized (DevicePool.this) {
                if (released) return;
                released = true;
                reservations.remove(this);
                if (closed) return;
                for (int i = 0; i < pointers.length; i++)
                    free.computeIfAbsent(sizes[i], s -> new ArrayDeque<>()).push(pointers[i]);
                graphHeld -= bytes;
                inUse -= bytes;
            }
        }
    }

    /** Starts a capture: no driver allocations until {@link #endCapture()} or {@link #abortCapture()}. */
    public synchronized void beginCapture() {
        if (closed) throw new IllegalStateException("device pool used after close");
        if (touched != null) throw new StepCaptureException("a step capture is already in progress (captures do not nest)");
        touched = new HashSet<>();
        takenInCapture = new HashSet<>();
    }

    public synchronized boolean capturing() { return touched != null; }

    /**
     * Ends the capture and reserves every block the step touched. Fails (leaving the capture to be aborted) when
     * the step kept blocks it allocated: the graph would write into a tensor that outlives the step's control.
     */
    public synchronized Reservation endCapture() {
        if (touched == null) throw new IllegalStateException("endCapture without beginCapture");
        List<Long> escaped = new ArrayList<>();
        for (long p : takenInCapture) if (live.containsKey(p)) escaped.add(p);
        if (!escaped.isEmpty()) {
            long b = 0;
            for (long p : escaped) b += live.get(p);
            throw new StepCaptureException("a captured step kept " + escaped.size() + " device block(s) (" + Bytes.human(b)
                    + ") it allocated: a step must release every tensor it allocates; allocate its outputs before the capture");
        }
        List<Long> ptrs = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        for (Map.Entry<Long, ArrayDeque<Long>> e : free.entrySet()) {
            for (var it = e.getValue().iterator(); it.hasNext(); ) {
                long p = it.next();
                if (touched.contains(p)) {
                    it.remove();
                    ptrs.add(p);
                    sizes.add(e.getKey());
                }
            }
        }
        free.values().removeIf(ArrayDeque::isEmpty);
        touched = null;
        takenInCapture = null;
        long bytes = 0;
        for (long s : sizes) bytes += s;
        Reservation r = new Reservation(ptrs.stream().mapToLong(Long::longValue).toArray(),
                sizes.stream().mapToLong(Long::longValue).toArray(), bytes);
        reservations.add(r);
        graphHeld += bytes;
        inUse += bytes;
        peakInUse = Math.max(peakInUse, inUse);
        return r;
    }

    /** Ends a failed capture: the blocks stay where they are (live or cached), nothing is reserved. */
    public synchronized void abortCapture() {
        touched = null;
        takenInCapture = null;
    }

    /** Bytes reserved by live graphs (included in {@link #inUseBytes()}). */
    public synchronized long graphBytes() { return graphHeld; }

    /**
     * Checks the bookkeeping: every reserved byte is live, cached or held by a graph, and in-use bytes are the live
     * plus graph-held ones. Throws {@link IllegalStateException} saying what is off (a test and debugging aid).
     */
    public synchronized void checkConsistent() {
        long liveBytes = 0, cached = 0;
        for (long s : live.values()) liveBytes += s;
        for (Map.Entry<Long, ArrayDeque<Long>> e : free.entrySet()) cached += e.getKey() * e.getValue().size();
        long held = 0;
        for (Reservation r : reservations) held += r.bytes;
        if (held != graphHeld || liveBytes + graphHeld != inUse || liveBytes + cached + graphHeld != reserved)
            throw new IllegalStateException("device pool bookkeeping is off: live " + liveBytes + ", cached " + cached
                    + ", graphs " + held + "/" + graphHeld + ", in use " + inUse + ", reserved " + reserved);
        if (touched != null) throw new IllegalStateException("device pool is still capturing");
    }

    /** Gives every cached (unused) block back to the driver; returns how many bytes that was. */
    public synchronized long trim() {
        if (touched != null) throw new StepCaptureException("the device pool cannot give memory back during a step capture");
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
        for (Reservation r : reservations) for (long p : r.pointers) allocator.free(p);
        reservations.clear();
        graphHeld = 0;
        reserved = inUse = 0;
        closed = true;
    }

    @Override public synchronized String toString() {
        return "DevicePool[reserved " + Bytes.human(reserved) + ", in use " + Bytes.human(inUse)
                + (graphHeld > 0 ? " (" + Bytes.human(graphHeld) + " by CUDA graphs)" : "") + ", peak "
                + Bytes.human(peakReserved) + ", " + driverAllocs + " cuMemAlloc calls]";
    }
}
