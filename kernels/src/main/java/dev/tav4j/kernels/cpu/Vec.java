package dev.tav4j.kernels.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species every vector CPU kernel uses and helpers for their loops (indices are in floats). Only vector
 * kernels load this class: the scalar twins (ScalarKernels) never do, so they run without jdk.incubator.vector.
 *
 * <p>How the kernels are written so that C2 always compiles their vector loops into registers (see
 * docs/performance.md, "The slow mode"): a FloatVector only stays out of the heap when every Vector API call that
 * touches it is inlined into one compiled method, and C2 only promises that for the JDK's own {@code @ForceInline}
 * methods. So no method of ours takes or returns a vector or a mask: the vector code of a loop lives in the loop's
 * method, calling the Vector API directly, and helpers take arrays, segments and indices. Masked memory accesses
 * (each one inlines to about 2,000 IR nodes, against about 500 for a plain one, within C2's budget of 18,000 per
 * method) never run in a main loop: tiles and vectors that do not fill go through small per-thread arrays. And
 * no branch that depends on the data sits inside a vector loop, so that C2's first compilation, made before the
 * process has met its edge shapes, is the one that stays.
 *
 * <p>A vector loop's accumulator never receives a call: C2 decides how to dispatch a Vector API call while it parses,
 * when a value carried around a loop is only known as a {@code FloatVector}, so {@code acc.add(x)} or {@code
 * acc.intoArray(…)} would be dispatched on the JDK's type profile, which any other use of the Vector API in the
 * process (another species) makes polymorphic: then the species is no longer a constant, the intrinsic fails and the
 * vectors are boxed. So a loop writes {@code acc = x.add(acc)} or {@code acc = a.fma(b, acc)} (the same IEEE
 * operations: addition and max are commutative) and, after the loop, {@code ZERO.blend(acc, ALL).intoArray(…)}.
 * ({@code KernelAllocationProbe … pollute} checks this.)
 */
final class Vec {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    /**
     * Zero and an all-true mask: {@code ZERO.blend(acc, ALL)} is acc, bit for bit, as a value whose exact class C2
     * knows (see the class comment: an accumulator after its loop).
     */
    static final FloatVector ZERO = FloatVector.zero(S);
    static final VectorMask<Float> ALL = S.maskAll(true);

    private Vec() {}

    /** "Vector API" and the species, for {@code tav info}. */
    static String describe() {
        return "Vector API " + S;
    }

    /**
     * The sum of lanes[at .. at + VL) by a fixed pairwise tree (lane i + lane i + h for h = VL/2, VL/4, …, 1), as
     * the kernels always summed a vector's lanes (before, with vector rotations; the same additions in the same
     * order). FloatVector.reduceLanes(ADD) leaves the order open and the JIT's intrinsic and the interpreter's
     * fallback do differ, which would make results depend on when a loop got compiled; this keeps every run
     * bit-for-bit repeatable. A kernel stores its accumulator with intoArray and sums here: a tree of rotations in
     * the kernel would carry a vector around a loop, which C2 does not always keep in a register. Overwrites the
     * lanes.
     */
    static float sumLanes(float[] lanes, int at) {
        for (int h = VL >> 1; h >= 1; h >>= 1)
            for (int i = 0; i < h; i++) lanes[at + i] = lanes[at + i] + lanes[at + i + h];
        return lanes[at];
    }

    /** Copies the first {@code n} (&lt; VL) floats from s at float index i into t[0, n) and zeroes t[n, VL). */
    static void tailIn(MemorySegment s, long i, int n, float[] t, int at) {
        MemorySegment.copy(s, Floats.F, i << 2, t, at, n);
        java.util.Arrays.fill(t, at + n, at + VL, 0f);
    }

    /** Copies t[at, at + n) to s at float index i. */
    static void tailOut(float[] t, int at, int n, MemorySegment s, long i) {
        MemorySegment.copy(t, at, s, Floats.F, i << 2, n);
    }

    /** t[0, n) = s[0, n) and t[n, roundUp(n, VL)) = 0: a small vector (gamma, a bias) all of whose loads are whole. */
    static void padded(MemorySegment s, int n, float[] t) {
        MemorySegment.copy(s, Floats.F, 0, t, 0, n);
        java.util.Arrays.fill(t, n, Floats.roundUp(n, VL), 0f);
    }

    /**
     * A handle on the static method {@code name} of the class {@code lookup} belongs to. Kept in a non-final static
     * field and called with invokeExact, it is a call that C2 cannot inline (it inlines method handles only when
     * they are constants), so the method always compiles by itself, with all of C2's inlining budget: how the
     * largest vector loops (about 10,000 IR nodes each) stay clear of whatever calls them.
     */
    static java.lang.invoke.MethodHandle alone(java.lang.invoke.MethodHandles.Lookup lookup, String name,
                                               Class<?>... parameters) {
        try {
            return lookup.findStatic(lookup.lookupClass(), name,
                    java.lang.invoke.MethodType.methodType(void.class, parameters));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** What a call through {@link #alone} threw, rethrown (the kernels throw only unchecked exceptions). */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        if (t instanceof Error e) throw e;
        throw new IllegalStateException(t);
    }
}
