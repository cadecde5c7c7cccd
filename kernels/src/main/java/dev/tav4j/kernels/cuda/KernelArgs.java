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
    private final byte[] kinds = new byte[MAX_ARGS];  // the letter of each argument, as Kernel declares them
    private int count;

    KernelArgs() {
        for (int i = 0; i < MAX_ARGS; i++) pointers.setAtIndex(ValueLayout.ADDRESS, i, values.asSlice(8L * i, 8));
    }

    KernelArgs reset() {
        count = 0;
        return this;
    }

    private long slot(char kind) {
        if (count == MAX_ARGS) throw new IllegalStateException("more than " + MAX_ARGS + " kernel arguments");
        kinds[count] = (byte) kind;
        return 8L * count++;
    }

    /** A device pointer. */
    KernelArgs ptr(long address) {
        values.set(ValueLayout.JAVA_LONG, slot('P'), address);
        return this;
    }

    KernelArgs i64(long v) {
        values.set(ValueLayout.JAVA_LONG, slot('L'), v);
        return this;
    }

    KernelArgs i32(int v) {
        values.set(ValueLayout.JAVA_INT, slot('I'), v);
        return this;
    }

    KernelArgs f32(float v) {
        values.set(ValueLayout.JAVA_FLOAT, slot('F'), v);
        return this;
    }

    KernelArgs f64(double v) {
        values.set(ValueLayout.JAVA_DOUBLE, slot('D'), v);
        return this;
    }

    /** The letter of argument i (see {@link Kernel}). */
    byte kind(int i) { return kinds[i]; }

    /** The pointer array to pass to {@code DeviceApi.launch}. */
    MemorySegment array() { return pointers; }

    int count() { return count; }

    @Override public void close() { arena.close(); }
}
