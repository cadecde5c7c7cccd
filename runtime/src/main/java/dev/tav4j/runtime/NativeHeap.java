package dev.tav4j.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Host memory for tensors from the C library's {@code aligned_alloc}, not from {@code Arena.allocate}: an arena's
 * native memory counts against the JVM's {@code MaxDirectMemorySize} (a quarter of RAM by default), which made a
 * real-size Stable Diffusion checkpoint fail at load on a machine with plenty of memory. Each segment is freed by
 * an automatic arena's cleanup once it is unreachable, so memory nobody returns is still reclaimed by the GC.
 * Where the C library offers no {@code aligned_alloc} (not Linux or macOS) it falls back to the arena.
 */
final class NativeHeap {
    static final long ALIGN = 64;
    /** Segments from this size up are populated when allocated. */
    static final long LARGE = 4L << 20;
    private static final MethodHandle ALIGNED_ALLOC, FREE;
    private static final AtomicLong allocated = new AtomicLong();

    static {
        MethodHandle alloc = null, free = null;
        try {
            Linker linker = Linker.nativeLinker();
            Optional<MemorySegment> a = linker.defaultLookup().find("aligned_alloc");
            Optional<MemorySegment> f = linker.defaultLookup().find("free");
            if (a.isPresent() && f.isPresent()) {
                alloc = linker.downcallHandle(a.get(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
                free = linker.downcallHandle(f.get(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
            }
        } catch (RuntimeException | LinkageError e) {
            alloc = null;
            free = null;
        }
        ALIGNED_ALLOC = alloc;
        FREE = free;
    }

    private NativeHeap() {}

    /** Whether segments come from the C library (true) or from the JVM's direct-memory arena (false). */
    static boolean isNative() { return ALIGNED_ALLOC != null; }

    /** Bytes allocated and not yet freed (C library path only). */
    static long allocatedBytes() { return allocated.get(); }

    /**
     * A segment of {@code bytes} (≥ 1), 64-byte aligned (from {@link #LARGE} up, mapped in one call rather than a
     * page fault per 4 KiB); null when the C library has no memory for it.
     */
    static MemorySegment allocate(long bytes) {
        if (ALIGNED_ALLOC == null) return Arena.ofAuto().allocate(bytes, ALIGN);
        long rounded = rounded(bytes);  // aligned_alloc wants a multiple of the alignment
        MemorySegment p;
        try {
            p = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGN, rounded);
        } catch (Throwable t) {
            throw new IllegalStateException("aligned_alloc failed", t);
        }
        if (p.address() == 0) return null;
        allocated.addAndGet(rounded);
        MemorySegment s = p.reinterpret(bytes, Arena.ofAuto(), NativeHeap::release);
        if (bytes >= LARGE) MemoryAdvice.populateWrite(s);
        return s;
    }

    private static long rounded(long bytes) { return (bytes + ALIGN - 1) / ALIGN * ALIGN; }

    private static void release(MemorySegment s) {
        long rounded = rounded(s.byteSize());
        try {
            FREE.invokeExact(s);
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
        allocated.addAndGet(-rounded);
    }
}
