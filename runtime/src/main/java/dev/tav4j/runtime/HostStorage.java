package dev.tav4j.runtime;

import java.lang.foreign.MemorySegment;

/**
 * Host memory for a tensor: pooled by {@link HostMemoryPool} so steady-state steps allocate nothing, or memory the
 * tensor does not own (a read-only view of a memory-mapped weights file), handed back through its own action.
 */
public final class HostStorage implements Storage {
    private final MemorySegment segment;
    private final Runnable onRelease;
    private boolean released;

    HostStorage(MemorySegment segment) {
        this(segment, null);
    }

    private HostStorage(MemorySegment segment, Runnable onRelease) {
        this.segment = segment;
        this.onRelease = onRelease;
    }

    /**
     * Storage over memory owned elsewhere (e.g. a slice of a mapped file): releasing it runs {@code onRelease}
     * once instead of returning the memory to the pool.
     */
    public static HostStorage external(MemorySegment segment, Runnable onRelease) {
        return new HostStorage(segment, onRelease);
    }

    public MemorySegment segment() {
        if (released) throw new IllegalStateException("tensor storage used after it was released");
        return segment;
    }

    /** Whether writes are refused (a view of a read-only mapped file). */
    public boolean isReadOnly() { return segment.isReadOnly(); }

    @Override public long byteSize() { return segment.byteSize(); }

    @Override public Device device() { return Device.HOST; }

    @Override public synchronized void release() {
        if (released) return;
        released = true;
        if (onRelease != null) onRelease.run();
        else HostMemoryPool.GLOBAL.give(segment);
    }
}
