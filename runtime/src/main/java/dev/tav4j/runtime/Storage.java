package dev.tav4j.runtime;

/** Where a tensor's bytes live: host memory (a {@code MemorySegment}) or device memory. */
public interface Storage {
    /** Size in bytes. */
    long byteSize();

    /** Which memory the bytes are in. */
    Device device();

    /** Gives the bytes back to their pool; the storage must not be used afterwards. */
    void release();
}
