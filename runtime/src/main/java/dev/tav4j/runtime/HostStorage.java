package dev.tav4j.runtime;

import java.lang.foreign.MemorySegment;

/** Host memory for a tensor; pooled by {@link HostMemoryPool} so steady-state steps allocate nothing. */
public final class HostStorage implements Storage {
    private final MemorySegment segment;
    private boolean released;

    HostStorage(MemorySegment segment) {
        this.segment = segment;
    }

    public MemorySegment segment() {
        if (released) throw new IllegalStateException("tensor storage used after it was released");
        return segment;
    }

    @Override public long byteSize() { return segment.byteSize(); }

    @Override public Device device() { return Device.HOST; }

    @Override public synchronized void release() {
        if (released) return;
        released = true;
        HostMemoryPool.GLOBAL.give(segment);
    }
}
