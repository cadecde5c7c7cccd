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

    /**
     * Sum of the lanes by a fixed pairwise tree (lane i + lane i+h, halving h). FloatVector.reduceLanes(ADD) leaves
     * the order open and the JIT's intrinsic and the interpreter's fallback do differ, which would make results depend
     * on when a loop got compiled; this keeps every run bit-for-bit repeatable.
     */
    static float sum(FloatVector v) {
        for (int k = 0; k < ROTATE.length; k++) v = v.add(v.rearrange(ROTATE[k]));
        return v.lane(0);
    }

    /** Rotations by VL/2, VL/4, …, 1 lanes for {@link #sum}. */
    @SuppressWarnings("unchecked")
    private static final jdk.incubator.vector.VectorShuffle<Float>[] ROTATE = java.util.stream.IntStream
            .iterate(VL / 2, h -> h >= 1, h -> h >> 1)
            .mapToObj(h -> jdk.incubator.vector.VectorShuffle.fromOp(S, i -> (i + h) % VL))
            .toArray(jdk.incubator.vector.VectorShuffle[]::new);

    static int roundUp(int n, int m) {
        return (n + m - 1) / m * m;
    }
}
