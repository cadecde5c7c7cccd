package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;
import java.util.Arrays;

/** Argument checks of the CPU ops; every message names the op and the argument. */
final class Check {
    private Check() {}

    /** Throws unless t is a non-null host F32 tensor. */
    static Tensor host(String op, String arg, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + arg + " is null");
        if (!t.isHost() || t.dtype() != DType.F32)
            throw new IllegalArgumentException(op + ": " + arg + " must be a host F32 tensor, got " + t);
        return t;
    }

    static Tensor rank(String op, String arg, Tensor t, int rank) {
        host(op, arg, t);
        if (t.rank() != rank)
            throw new IllegalArgumentException(op + ": " + arg + " must have rank " + rank + ", got shape " + Arrays.toString(t.shape()));
        return t;
    }

    static Tensor shape(String op, String arg, Tensor t, int... expected) {
        host(op, arg, t);
        if (!Arrays.equals(t.shape(), expected))
            throw new IllegalArgumentException(op + ": " + arg + " must have shape " + Arrays.toString(expected)
                    + ", got " + Arrays.toString(t.shape()));
        return t;
    }

    static void sameSize(String op, String a, Tensor x, String b, Tensor y) {
        if (x.size() != y.size())
            throw new IllegalArgumentException(op + ": " + a + " " + Arrays.toString(x.shape()) + " and " + b + " "
                    + Arrays.toString(y.shape()) + " differ in element count");
    }

    static void sameShape(String op, String a, Tensor x, String b, Tensor y) {
        if (!Arrays.equals(x.shape(), y.shape()))
            throw new IllegalArgumentException(op + ": " + a + " " + Arrays.toString(x.shape()) + " and " + b + " "
                    + Arrays.toString(y.shape()) + " must have the same shape");
    }

    static void that(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    /** Whether two tensors are views of the same bytes (exact alias). */
    static boolean sameBytes(Tensor a, Tensor b) {
        return a.storage() == b.storage() && a.byteOffset() == b.byteOffset();
    }
}
