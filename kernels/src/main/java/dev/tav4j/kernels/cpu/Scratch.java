package dev.tav4j.kernels.cpu;

/**
 * Per-thread float buffers that grow as needed and are reused across calls, so hot loops never allocate.
 * Each kernel uses its own slot numbers; a slot's contents are only meaningful within one work item.
 */
final class Scratch {
    static final int SLOTS = 12; // the GroupNorm backward uses 10
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[SLOTS][0]);

    private Scratch() {}

    /** A buffer of at least n floats for this thread's slot; contents unspecified. */
    static float[] floats(int slot, int n) {
        float[][] b = BUFFERS.get();
        if (b[slot].length < n) b[slot] = new float[Math.max(n, b[slot].length + (b[slot].length >> 1))];
        return b[slot];
    }
}
