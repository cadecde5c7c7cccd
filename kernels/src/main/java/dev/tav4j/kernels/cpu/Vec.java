package dev.tav4j.kernels.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/** The vector species every CPU kernel uses and small helpers over float segments (indices are in floats). */
final class Vec {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Vec() {}

    static FloatVector load(MemorySegment s, long i) {
        return FloatVector.fromMemorySegment(S, s, i << 2, NATIVE);
    }

    static FloatVector load(MemorySegment s, long i, VectorMask<Float> m) {
        return FloatVector.fromMemorySegment(S, s, i << 2, NATIVE, m);
    }

    static void store(FloatVector v, MemorySegment s, long i) {
        v.intoMemorySegment(s, i << 2, NATIVE);
    }

    static void store(FloatVector v, MemorySegment s, long i, VectorMask<Float> m) {
        v.intoMemorySegment(s, i << 2, NATIVE, m);
    }

    static float get(MemorySegment s, long i) {
        return s.get(F, i << 2);
    }

    static void set(MemorySegment s, long i, float v) {
        s.set(F, i << 2, v);
    }

    /** Lanes [0, n) set. */
    static VectorMask<Float> head(int n) {
        return S.indexInRange(0, n);
    }

    static int roundUp(int n, int m) {
        return (n + m - 1) / m * m;
    }
}
