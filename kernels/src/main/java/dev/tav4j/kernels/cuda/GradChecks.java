package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;

import java.util.Arrays;

/**
 * The argument checks the backward ops share (their messages name the op and the argument); launching goes through
 * the backend's {@link CudaLaunch}, as for the forward ops.
 */
final class GradChecks {
    private GradChecks() {}

    static long ptr(Tensor t) {
        return CudaLaunch.ptr(t);
    }

    static void requireF32(String op, Tensor... ts) {
        for (Tensor t : ts)
            if (t != null && t.dtype() != DType.F32)
                throw new IllegalArgumentException(op + ": tensor " + t + " must be F32, not " + t.dtype() + " (the optimizer works on fp32 gradients and master weights)");
    }

    /** Throws unless every non-null tensor has the element type of the first. */
    static void sameType(String op, Tensor... ts) {
        DType first = null;
        for (Tensor t : ts) {
            if (t == null) continue;
            if (first == null) first = t.dtype();
            else if (t.dtype() != first)
                throw new IllegalArgumentException(op + ": tensor " + t + " is " + t.dtype() + ", the others " + first + " (one element type per op)");
        }
    }

    static void sameShape(String op, String an, Tensor a, String bn, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape()))
            throw new IllegalArgumentException(op + ": " + bn + " " + Arrays.toString(b.shape()) + " must have the shape of "
                    + an + " " + Arrays.toString(a.shape()));
    }

    /** Throws when the device byte ranges of two tensors overlap. */
    static void distinct(String op, String an, Tensor a, String bn, Tensor b) {
        if (a == null || b == null || a.size() == 0 || b.size() == 0) return;
        long a0 = ptr(a), a1 = a0 + a.size() * a.dtype().bytes(), b0 = ptr(b), b1 = b0 + b.size() * b.dtype().bytes();
        if (a0 < b1 && b0 < a1) throw new IllegalArgumentException(op + ": " + an + " must not overlap " + bn);
    }

    static void check(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
