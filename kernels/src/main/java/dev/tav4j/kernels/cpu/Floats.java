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

    /** Floats per vector: the Vector API's lane count for vector kernels (Vec is loaded only then), 1 for scalar ones. */
    static int lanes(boolean vector) {
        return vector ? Vec.VL : 1;
    }

    static int roundUp(int n, int m) {
        return (n + m - 1) / m * m;
    }
}
