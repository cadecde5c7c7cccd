package dev.tav4j.kernels.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Float access to segments (indices in floats) and sizes, for vector and scalar kernels alike. No reference to
 * jdk.incubator.vector here or in any class the scalar kernels load: without that module such a class fails to load.
 */
final class Floats {
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Floats() {}

    static float get(MemorySegment s, long i) {
        return s.get(F, i << 2);
    }

    static void set(MemorySegment s, long i, float v) {
        s.set(F, i << 2, v);
    }

    /**
     * dst[(at + j)·stride + i] = src[base + j·c + col + i] for j &lt; n, i &lt; width: columns [col, col + width) of n
     * rows c floats apart (one head of keys or values), as rows stride floats apart.
     */
    static void gatherRows(MemorySegment src, long base, int n, int c, int col, int width, float[] dst, int stride, int at) {
        for (int j = 0; j < n; j++)
            MemorySegment.copy(src, F, (base + (long) j * c + col) << 2, dst, (at + j) * stride, width);
    }

    /** Floats per vector: the Vector API's lane count for vector kernels (Vec is loaded only then), 1 for scalar ones. */
    static int lanes(boolean vector) {
        return vector ? Vec.VL : 1;
    }

    static int roundUp(int n, int m) {
        return (n + m - 1) / m * m;
    }
}
