package dev.tav4j.kernels.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reusable native parameter array of a kernel launch, laid out as cuLaunchKernel takes it: an array of
 * pointers, pointer i addressing the value of argument i. Values live in fixed 8-byte slots, so the pointer
 * array is written once and a launch allocates nothing. One instance per {@link CudaOps} (not thread-safe);
 * the driver copies the values at launch, so the slots may be rewritten right after.
 */
final class KernelArgs implements AutoCloseable {
    static final int MAX_ARGS = 32;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment values = arena.allocate(8L * MAX_ARGS, 8);
    private final MemorySegment pointers = arena.allocate(ValueLayout.ADDRESS, MAX_ARGS);
    private int count;

    KernelArgs() {
        for (int i = 0; i < MAX_ARGS; i++) pointers.setAtIndex(ValueLayout.ADDRESS, i, values.asSlice(8L * i, 8));
    }

    KernelArgs reset() {
        count = 0;
        return this;
    }

    private long slot() {
        if (count == MAX_ARGS) throw new IllegalStateException("more than " + MAX_ARGS + " kernel arguments");
        return 8L * count++;
    }

    /** A device pointer (or any 64-bit value). */
    KernelArgs ptr(long address) {
        values.set(ValueLayout.JAVA_LONG, slot(), address);
        return this;
    }

    KernelArgs i64(long v) { return ptr(v); }

    KernelArgs i32(int v) {
        values.set(ValueLayout.JAVA_INT, slot(), v);
        return this;
    }

    KernelArgs f32(float v) {
        values.set(ValueLayout.JAVA_FLOAT, slot(), v);
        return this;
    }

    /** The pointer array to pass to {@code DeviceApi.launch}. */
    MemorySegment array() { return pointers; }

    int count() { return count; }

    @Override public void close() { arena.close(); }
}
