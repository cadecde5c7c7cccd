package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.F;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** Backward of the point-wise ops: activations and GEGLU (exact erf GELU derivative), vectorised, parallel. */
final class CpuPointwiseGrad {
    private static final int CHUNK = 1 << 14;

    private CpuPointwiseGrad() {}

    static void activation(Activation act, Tensor x, Tensor dY, Tensor dX) {
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
        Parallel.forRange(items, 1, (lo, hi) -> blocks(act, xs, ys, os, (long) lo * CHUNK, Math.min(n, (long) hi * CHUNK)));
    }

    /** dX = dY · act'(x) over [from, to), in blocks copied through per-thread buffers. */
    private static void blocks(Activation act, MemorySegment xs, MemorySegment ys, MemorySegment os, long from, long to) {
        float[] xb = Scratch.floats(0, VMath.BLOCK), yb = Scratch.floats(1, VMath.BLOCK);
        float k = act == Activation.QUICK_GELU ? 1.702f : 1f;
        for (long i = from; i < to; i += VMath.BLOCK) {
            int len = (int) Math.min(VMath.BLOCK, to - i);
            MemorySegment.copy(xs, F, i << 2, xb, 0, len);
            MemorySegment.copy(ys, F, i << 2, yb, 0, len);
            if (act == Activation.GELU) geluDeriv(xb, len); // xb becomes the derivative
            else if (act == Activation.EXP) VMath.exp(xb, xb, len); // exp' = exp
            else VMath.sigmoidDerivProduct(xb, k, xb, len);
            VMath.mul(yb, xb, len);
            MemorySegment.copy(yb, 0, os, F, i << 2, len);
        }
    }

    private static java.lang.invoke.MethodHandle geluDeriv = Vec.alone(java.lang.invoke.MethodHandles.lookup(),
            "geluDerivLoop", float[].class, int.class);

    /** x[i] = gelu'(x[i]), compiled alone ({@link Vec#alone}). */
    private static void geluDeriv(float[] x, int n) {
        try {
            geluDeriv.invokeExact(x, n);
        } catch (Throwable t) {
            throw Vec.rethrow(t);
        }
    }

    /** x[i] = gelu'(x[i]) = x·φ(x) + Φ(x). */
    private static void geluDerivLoop(float[] x, int n) {
        float[] p = Scratch.floats(2, VMath.BLOCK), c = Scratch.floats(3, VMath.BLOCK);
        VMath.pdf(x, p, n);
        VMath.cdf(x, c, n);
        for (int i = 0; i < n; i += VL)
            FloatVector.fromArray(S, x, i).mul(FloatVector.fromArray(S, p, i)).add(FloatVector.fromArray(S, c, i)).intoArray(x, i);
    }

    static void geglu(Tensor x, Tensor dY, Tensor dX) {
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
                    VMath.cdf(gb, phi, len);
                    VMath.pdf(gb, pdf, len);
                    gegluGrads(ab, gb, yb, phi, pdf, len);
                    MemorySegment.copy(ab, 0, os, F, (a + c) << 2, len);
                    MemorySegment.copy(pdf, 0, os, F, (a + d + c) << 2, len);
                }
            }
        });
    }

    /** a ← dA = dy·(g·Φ(g)) and pdf ← dG = dy·a·(g·φ(g) + Φ(g)), from a, g, dy, phi = Φ(g) and pdf = φ(g). */
    private static void gegluGrads(float[] a, float[] g, float[] dy, float[] phi, float[] pdf, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector av = FloatVector.fromArray(S, a, i), gate = FloatVector.fromArray(S, g, i);
            FloatVector y = FloatVector.fromArray(S, dy, i), p = FloatVector.fromArray(S, phi, i);
            y.mul(av).mul(gate.mul(FloatVector.fromArray(S, pdf, i)).add(p)).intoArray(pdf, i);
            y.mul(gate.mul(p)).intoArray(a, i);
        }
    }
}
