package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.F;
import static dev.tav4j.kernels.cpu.Vec.NATIVE;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Point-wise ops: activations, GEGLU, axpby, products, fills, the sum and per-image channel bias; vectorised, parallel over chunks. The
 * activations run {@link VMath}'s array kernels on blocks copied through per-thread buffers; the plain arithmetic
 * runs on the segments, with each range's last partial vector through a small array.
 */
final class CpuElementwise {
    /** Elements per parallel work item. */
    private static final int CHUNK = 1 << 14;

    private CpuElementwise() {}

    /** Runs body over [0, n) in vector-aligned chunks of about CHUNK elements. */
    private static void chunks(long n, Parallel.Range body) {
        int items = (int) ((n + CHUNK - 1) / CHUNK);
        Parallel.forRange(items, 1, (lo, hi) -> body.run(lo, hi));
    }

    static void activation(Activation act, Tensor x, Tensor out) {
        String op = "activation";
        Check.host(op, "x", x);
        Check.host(op, "out", out);
        Check.sameShape(op, "x", x, "out", out);
        if (act == null) throw new IllegalArgumentException(op + ": act is null");
        MemorySegment xs = x.segment(), os = out.segment();
        long n = x.size();
        chunks(n, (lo, hi) -> activationBlocks(act, xs, os, (long) lo * CHUNK, Math.min(n, (long) hi * CHUNK)));
    }

    /** out = act(x) over [from, to), in blocks copied through a per-thread buffer. */
    private static void activationBlocks(Activation act, MemorySegment xs, MemorySegment os, long from, long to) {
        float[] buf = Scratch.floats(0, VMath.BLOCK);
        for (long i = from; i < to; i += VMath.BLOCK) {
            int len = (int) Math.min(VMath.BLOCK, to - i);
            MemorySegment.copy(xs, F, i << 2, buf, 0, len);
            switch (act) {
                case SILU -> VMath.silu(buf, buf, len);
                case GELU -> VMath.gelu(buf, buf, len);
                case QUICK_GELU -> VMath.quickGelu(buf, buf, len);
                case EXP -> VMath.exp(buf, buf, len);
            }
            MemorySegment.copy(buf, 0, os, F, i << 2, len);
        }
    }

    static void geglu(Tensor x, Tensor out) {
        String op = "geglu";
        Check.host(op, "x", x);
        Check.host(op, "out", out);
        int d2 = x.dim(-1);
        Check.that(x.rank() >= 1 && d2 % 2 == 0, op + ": x's last dimension must be even, got " + x);
        int d = d2 / 2;
        int[] expect = x.shape();
        expect[expect.length - 1] = d;
        Check.shape(op, "out", out, expect);
        if (d == 0) return;
        int rows = (int) (x.size() / d2);
        MemorySegment xs = x.segment(), os = out.segment();
        Parallel.forRange(rows, Math.max(1, CHUNK / d), (lo, hi) -> {
            float[] ab = Scratch.floats(0, VMath.BLOCK), gb = Scratch.floats(1, VMath.BLOCK);
            for (int r = lo; r < hi; r++) {
                long a = (long) r * d2, o = (long) r * d;
                for (int c = 0; c < d; c += VMath.BLOCK) {
                    int len = Math.min(VMath.BLOCK, d - c);
                    MemorySegment.copy(xs, F, (a + d + c) << 2, gb, 0, len);
                    MemorySegment.copy(xs, F, (a + c) << 2, ab, 0, len);
                    VMath.gelu(gb, gb, len);
                    VMath.mul(ab, gb, len);
                    MemorySegment.copy(ab, 0, os, F, (o + c) << 2, len);
                }
            }
        });
    }

    static void axpby(float a, Tensor x, float b, Tensor y, Tensor out) {
        String op = "axpby";
        Check.host(op, "x", x);
        Check.host(op, "y", y);
        Check.host(op, "out", out);
        Check.sameShape(op, "x", x, "y", y);
        Check.sameShape(op, "x", x, "out", out);
        MemorySegment xs = x.segment(), ys = y.segment(), os = out.segment();
        long n = x.size();
        chunks(n, (lo, hi) -> axpby(a, xs, b, ys, os, (long) lo * CHUNK, Math.min(n, (long) hi * CHUNK)));
    }

    /** out = a·x + b·y over [from, to): whole vectors in place, the last partial one through a per-thread array. */
    private static void axpby(float a, MemorySegment xs, float b, MemorySegment ys, MemorySegment os, long from, long to) {
        long full = from + (to - from) / VL * VL;
        for (long i = from; i < full; i += VL) {
            FloatVector x = FloatVector.fromMemorySegment(S, xs, i << 2, NATIVE);
            FloatVector y = FloatVector.fromMemorySegment(S, ys, i << 2, NATIVE);
            x.mul(a).add(y.mul(b)).intoMemorySegment(os, i << 2, NATIVE);
        }
        int rem = (int) (to - full);
        if (rem == 0) return;
        float[] t = Scratch.floats(0, 2 * VL);
        Vec.tailIn(xs, full, rem, t, 0);
        Vec.tailIn(ys, full, rem, t, VL);
        FloatVector.fromArray(S, t, 0).mul(a).add(FloatVector.fromArray(S, t, VL).mul(b)).intoArray(t, 0);
        Vec.tailOut(t, 0, rem, os, full);
    }

    static void mul(Tensor x, Tensor y, Tensor out) {
        String op = "mul";
        Check.host(op, "x", x);
        Check.host(op, "y", y);
        Check.host(op, "out", out);
        Check.sameShape(op, "x", x, "y", y);
        Check.sameShape(op, "x", x, "out", out);
        MemorySegment xs = x.segment(), ys = y.segment(), os = out.segment();
        long n = x.size();
        chunks(n, (lo, hi) -> mul(xs, ys, os, (long) lo * CHUNK, Math.min(n, (long) hi * CHUNK)));
    }

    /** out = x·y over [from, to): whole vectors in place, the last partial one through a per-thread array. */
    private static void mul(MemorySegment xs, MemorySegment ys, MemorySegment os, long from, long to) {
        long full = from + (to - from) / VL * VL;
        for (long i = from; i < full; i += VL) {
            FloatVector x = FloatVector.fromMemorySegment(S, xs, i << 2, NATIVE);
            FloatVector y = FloatVector.fromMemorySegment(S, ys, i << 2, NATIVE);
            x.mul(y).intoMemorySegment(os, i << 2, NATIVE);
        }
        int rem = (int) (to - full);
        if (rem == 0) return;
        float[] t = Scratch.floats(0, 2 * VL);
        Vec.tailIn(xs, full, rem, t, 0);
        Vec.tailIn(ys, full, rem, t, VL);
        FloatVector.fromArray(S, t, 0).mul(FloatVector.fromArray(S, t, VL)).intoArray(t, 0);
        Vec.tailOut(t, 0, rem, os, full);
    }

    /** out[0] = Σ x in double: per chunk of CHUNK elements in order, then the chunks in order (deterministic). */
    static void sum(Tensor x, Tensor out) {
        String op = "sum";
        Check.host(op, "x", x);
        Check.host(op, "out", out);
        Check.that(out.size() == 1, op + ": out must hold one element, got " + out);
        MemorySegment xs = x.segment();
        long n = x.size();
        int items = (int) ((n + CHUNK - 1) / CHUNK);
        double[] part = new double[items];
        Parallel.forRange(items, 1, (lo, hi) -> {
            for (int it = lo; it < hi; it++) {
                long i1 = Math.min(n, (long) (it + 1) * CHUNK);
                double s = 0;
                for (long i = (long) it * CHUNK; i < i1; i++) s += Vec.get(xs, i);
                part[it] = s;
            }
        });
        double s = 0;
        for (double p : part) s += p;
        out.set(0, (float) s);
    }

    static void fill(float value, Tensor out) {
        Check.host("fill", "out", out);
        MemorySegment os = out.segment();
        for (long i = 0, n = out.size(); i < n; i++) Vec.set(os, i, value);
    }

    static void fill(Tensor value, Tensor out) {
        Check.host("fill", "value", value);
        Check.that(value.size() == 1, "fill: value must hold one element, got " + value);
        fill(value.get(0), out);
    }

    static void addChannelBias(Tensor x, Tensor rows, int repeat, Tensor out) {
        String op = "addChannelBias";
        Check.host(op, "x", x);
        Check.host(op, "out", out);
        Check.that(x.rank() >= 2, op + ": x must be [N, ..., C], got " + x);
        Check.sameShape(op, "x", x, "out", out);
        int n = x.dim(0), c = x.dim(-1);
        Check.that(repeat > 0 && n % repeat == 0, op + ": repeat " + repeat + " must divide N = " + n);
        Check.shape(op, "rows", rows, n / repeat, c);
        if (c == 0) return;
        long perImage = x.size() / n / c;
        MemorySegment xs = x.segment(), rs = rows.segment(), os = out.segment();
        long total = x.size() / c;
        int rowsPerItem = Math.max(1, CHUNK / c);
        int items = (int) ((total + rowsPerItem - 1) / rowsPerItem);
        Parallel.forRange(items, 1, (lo, hi) -> {
            long r1 = Math.min(total, (long) hi * rowsPerItem);
            addBiasRows(xs, rs, os, (long) lo * rowsPerItem, r1, c, perImage * repeat);
        });
    }

    /** out[r] = x[r] + rows[r / perRow] for rows [r0, r1) of C channels; each row's last partial vector through t. */
    private static void addBiasRows(MemorySegment xs, MemorySegment rs, MemorySegment os, long r0, long r1, int c,
                                    long perRow) {
        int full = c / VL * VL, rem = c - full;
        float[] t = Scratch.floats(0, 2 * VL);
        for (long r = r0; r < r1; r++) {
            long bias = r / perRow * c, i = r * c;
            for (int c0 = 0; c0 < full; c0 += VL) {
                FloatVector x = FloatVector.fromMemorySegment(S, xs, (i + c0) << 2, NATIVE);
                x.add(FloatVector.fromMemorySegment(S, rs, (bias + c0) << 2, NATIVE)).intoMemorySegment(os, (i + c0) << 2, NATIVE);
            }
            if (rem > 0) {
                Vec.tailIn(xs, i + full, rem, t, 0);
                Vec.tailIn(rs, bias + full, rem, t, VL);
                FloatVector.fromArray(S, t, 0).add(FloatVector.fromArray(S, t, VL)).intoArray(t, 0);
                Vec.tailOut(t, 0, rem, os, i + full);
            }
        }
    }
}
