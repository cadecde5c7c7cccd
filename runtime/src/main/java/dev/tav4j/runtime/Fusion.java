package dev.tav4j.runtime;

/** Argument rules of the fused residual adds ({@link Ops#matmul(Tensor, Tensor, Tensor, Tensor, Tensor)}, conv2d). */
public final class Fusion {
    private Fusion() {}

    /**
     * Checks that {@code residual} does not overlap {@code out} except, where {@code inPlaceAllowed}, by being
     * exactly out's elements. Returns whether residual is out (in place).
     */
    public static boolean requireResidual(String op, Tensor residual, Tensor out, boolean inPlaceAllowed) {
        if (residual.storage() != out.storage()) return false;
        long rs = residual.byteOffset(), re = rs + residual.size() * residual.dtype().bytes();
        long os = out.byteOffset(), oe = os + out.size() * out.dtype().bytes();
        if (re <= os || oe <= rs) return false;
        if (inPlaceAllowed && rs == os && re == oe) return true;
        throw new IllegalArgumentException(op + ": residual " + residual + " overlaps out " + out
                + (inPlaceAllowed ? " without being it" : " (the residual must be a separate tensor)"));
    }
}
