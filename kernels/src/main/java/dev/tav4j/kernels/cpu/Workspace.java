package dev.tav4j.kernels.cpu;

/**
 * Arrays a kernel call needs for its whole duration (partial sums shared by its work items, per-row statistics),
 * kept per calling thread and reused across calls, so that a call allocates nothing that grows with its tensors.
 * Unlike {@link Scratch} (per worker, per work item), a slot here belongs to one kernel call on the thread that
 * made it; each kernel uses its own slots and never calls another kernel while holding them.
 */
final class Workspace {
    static final int SLOTS = 4;
    private static final ThreadLocal<double[][]> DOUBLES = ThreadLocal.withInitial(() -> new double[SLOTS][0]);
    private static final ThreadLocal<float[][]> FLOATS = ThreadLocal.withInitial(() -> new float[SLOTS][0]);

    private Workspace() {}

    /** This thread's double array for {@code slot}, at least n long, its first n elements zero. */
    static double[] zeroedDoubles(int slot, int n) {
        double[][] b = DOUBLES.get();
        if (b[slot].length < n) b[slot] = new double[n];
        else java.util.Arrays.fill(b[slot], 0, n, 0.0);
        return b[slot];
    }

    /** This thread's float array for {@code slot}, at least n long; contents unspecified. */
    static float[] floats(int slot, int n) {
        float[][] b = FLOATS.get();
        if (b[slot].length < n) b[slot] = new float[n];
        return b[slot];
    }
}
