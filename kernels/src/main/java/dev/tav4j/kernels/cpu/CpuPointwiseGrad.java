package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Floats.F;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/** Backward of the point-wise ops: activations and GEGLU (exact erf GELU derivative), parallel, on {@link VMath} or
 * {@link ScalarMath}. */
final class CpuPointwiseGrad {
    private static final int CHUNK = 1 << 14;

    private CpuPointwiseGrad() {}

    static void activation(Activation act, Tensor x, Tensor dY, Tensor dX, boolean vector) {
        String op = "activationBackward";
        if (act == null) throw new IllegalArgumentException(op + ": act is null");
        Check.host(op, "x", x);
        Check.host(op, "dY", dY);
        Check.host(op, "dX", dX);
        Check.sameShape(op, "x", x, "dY", dY);
        Check.sameShape(op, "x", x, "dX", dX);
        MemorySegment xs = x.segment(), ys = dY.segment(), os = dX.segment();
        long n = x.size();
        int items = (int) ((n + CHUNK - 1) / CHUNK);
        Parallel.forRange(items, 1, (lo, hi) -> blocks(act, xs, ys, os, (long) lo * CHUNK, Math.min(n, (long) hi * CHUNK), vector));
    }

    /** dX = dY · act'(x) over [from, to), in blocks copied through per-thread buffers. */
    private static void blocks(Activation act, MemorySegment xs, MemorySegment ys, MemorySegment os, long from, long to,
                               boolean vector) {
        float[] xb = Scratch.floats(0, VMath.BLOCK), yb = Scratch.floats(1, VMath.BLOCK);
        float k = act == Activation.QUICK_GELU ? 1.702f : 1f;
        for (long i = from; i < to; i += VMath.BLOCK) {
            int len = (int) Math.min(VMath.BLOCK, to - i);
            MemorySegment.copy(xs, F, i << 2, xb, 0, len);
            MemorySegment.copy(ys, F, i << 2, yb, 0, len);
            if (vector) {
                if (act == Activation.GELU) VMath.geluDeriv(xb, len); // xb becomes the derivative
                else if (act == Activation.EXP) VMath.exp(xb, xb, len); // exp' = exp
                else VMath.sigmoidDerivProduct(xb, k, xb, len);
                VMath.mul(yb, xb, len);
            } else {
                if (act == Activation.GELU) ScalarMath.geluDeriv(xb, len);
                else if (act == Activation.EXP) ScalarMath.exp(xb, xb, len);
                else ScalarMath.sigmoidDerivProduct(xb, k, xb, len);
                ScalarMath.mul(yb, xb, len);
            }
            MemorySegment.copy(yb, 0, os, F, i << 2, len);
        }
    }

    static void geglu(Tensor x, Tensor dY, Tensor dX, boolean vector) {
        String op = "gegluBackward";
        Check.host(op, "x", x);
        Check.host(op, "dY", dY);
        Check.host(op, "dX", dX);
        Check.that(x.rank() >= 1 && x.dim(-1) % 2 == 0, op + ": x's last dimension must be even, got " + x);
        Check.sameShape(op, "x", x, "dX", dX);
        int d2 = x.dim(-1), d = d2 / 2;
        int[] expect = x.shape();
        expect[expect.length - 1] = d;
        Check.shape(op, "dY", dY, expect);
        Check.that(!Check.sameBytes(dX, dY), op + ": dX must not alias dY");
        if (d == 0) return;
        int rows = CpuGradSupport.rows(x.size(), d2, op);
        MemorySegment xs = x.segment(), ys = dY.segment(), os = dX.segment();
        Parallel.forRange(rows, Math.max(1, CHUNK / d), (lo, hi) -> {
            float[] ab = Scratch.floats(0, VMath.BLOCK), gb = Scratch.floats(1, VMath.BLOCK);
            float[] yb = Scratch.floats(2, VMath.BLOCK), phi = Scratch.floats(3, VMath.BLOCK);
            float[] pdf = Scratch.floats(4, VMath.BLOCK);
            for (int r = lo; r < hi; r++) {
                long a = (long) r * d2, o = (long) r * d;
                for (int c = 0; c < d; c += VMath.BLOCK) {
                    int len = Math.min(VMath.BLOCK, d - c);
                    MemorySegment.copy(xs, F, (a + c) << 2, ab, 0, len);
                    MemorySegment.copy(xs, F, (a + d + c) << 2, gb, 0, len);
                    MemorySegment.copy(ys, F, (o + c) << 2, yb, 0, len);
                    if (vector) {
                        VMath.cdf(gb, phi, len);
                        VMath.pdf(gb, pdf, len);
                        VMath.gegluGrads(ab, gb, yb, phi, pdf, len);
                    } else {
                        ScalarMath.cdf(gb, phi, len);
                        ScalarMath.pdf(gb, pdf, len);
                        ScalarMath.gegluGrads(ab, gb, yb, phi, pdf, len);
                    }
                    MemorySegment.copy(ab, 0, os, F, (a + c) << 2, len);
                    MemorySegment.copy(pdf, 0, os, F, (a + d + c) << 2, len);
                }
            }
        });
    }

}
