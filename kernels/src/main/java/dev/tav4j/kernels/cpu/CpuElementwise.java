package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Floats.F;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Point-wise ops: activations, GEGLU, axpby, products, fills, the sum and per-image channel bias; parallel over chunks.
 * The activations run {@link VMath}'s array kernels (or {@link ScalarMath}'s) on blocks copied through per-thread
 * buffers; the plain arithmetic runs on the segments ({@link VecLoops} or {@link ScalarLoops}).
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

    static void activation(Activation act, Tensor x, Tensor out, boolean vector) {
        String op = "activation";
        Check.host(op, "x", x);
        Check.host(op, "out", out);
        Check.sameShape(op, "x", x, "out", out);
        if (act == null) throw new IllegalArgumentException(op + ": act is null");
        MemorySegment xs = x.segment(), os = out.segment();
        long n = x.size();
        chunks(n, (lo, hi) -> activationBlocks(act, xs, os, (long) lo * CHUNK, Math.min(n, (long) hi * CHUNK), vector));
    }

    /** out = act(x) over [from, to), in blocks copied through a per-thread buffer. */
    private static void activationBlocks(Activation act, MemorySegment xs, MemorySegment os, long from, long to,
                                         boolean vector) {
        float[] buf = Scratch.floats(0, VMath.BLOCK);
        for (long i = from; i < to; i += VMath.BLOCK) {
            int len = (int) Math.min(VMath.BLOCK, to - i);
            MemorySegment.copy(xs, F, i << 2, buf, 0, len);
            if (vector) {
                switch (act) {
                    case SILU -> VMath.silu(buf, buf, len);
                    case GELU -> VMath.gelu(buf, buf, len);
                    case QUICK_GELU -> VMath.quickGelu(buf, buf, len);
                    case EXP -> VMath.exp(buf, buf, len);
                }
            } else {
                switch (act) {
                    case SILU -> ScalarMath.silu(buf, buf, len);
                    case GELU -> ScalarMath.gelu(buf, buf, len);
                    case QUICK_GELU -> ScalarMath.quickGelu(buf, buf, len);
                    case EXP -> ScalarMath.exp(buf, buf, len);
                }
            }
            MemorySegment.copy(buf, 0, os, F, i << 2, len);
        }
    }

    static void geglu(Tensor x, Tensor out, boolean vector) {
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
                    if (vector) {
                        VMath.gelu(gb, gb, len);
                        VMath.mul(ab, gb, len);
                    } else {
                        ScalarMath.gelu(gb, gb, len);
                        ScalarMath.mul(ab, gb, len);
                    }
                    MemorySegment.copy(ab, 0, os, F, (o + c) << 2, len);
                }
            }
        });
    }

    static void axpby(float a, Tensor x, float b, Tensor y, Tensor out, boolean vector) {
        String op = "axpby";
        Check.host(op, "x", x);
        Check.host(op, "y", y);
        Check.host(op, "out", out);
        Check.sameShape(op, "x", x, "y", y);
        Check.sameShape(op, "x", x, "out", out);
        MemorySegment xs = x.segment(), ys = y.segment(), os = out.segment();
        long n = x.size();
        if (vector) chunks(n, (lo, hi) -> VecLoops.axpby(a, xs, b, ys, os, (long) lo * CHUNK, Math.min(n, (long) hi * CHUNK)));
        else chunks(n, (lo, hi) -> ScalarLoops.axpby(a, xs, b, ys, os, (long) lo * CHUNK, Math.min(n, (long) hi * CHUNK)));
    }

    static void mul(Tensor x, Tensor y, Tensor out, boolean vector) {
        String op = "mul";
        Check.host(op, "x", x);
        Check.host(op, "y", y);
        Check.host(op, "out", out);
        Check.sameShape(op, "x", x, "y", y);
        Check.sameShape(op, "x", x, "out", out);
        MemorySegment xs = x.segment(), ys = y.segment(), os = out.segment();
        long n = x.size();
        if (vector) chunks(n, (lo, hi) -> VecLoops.mul(xs, ys, os, (long) lo * CHUNK, Math.min(n, (long) hi * CHUNK)));
        else chunks(n, (lo, hi) -> ScalarLoops.mul(xs, ys, os, (long) lo * CHUNK, Math.min(n, (long) hi * CHUNK)));
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
                for (long i = (long) it * CHUNK; i < i1; i++) s += Floats.get(xs, i);
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
        for (long i = 0, n = out.size(); i < n; i++) Floats.set(os, i, value);
    }

    static void fill(Tensor value, Tensor out) {
        Check.host("fill", "value", value);
        Check.that(value.size() == 1, "fill: value must hold one element, got " + value);
        fill(value.get(0), out);
    }

    static void addChannelBias(Tensor x, Tensor rows, int repeat, Tensor out, boolean vector) {
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
            if (vector) VecLoops.addBiasRows(xs, rs, os, (long) lo * rowsPerItem, r1, c, perImage * repeat);
            else ScalarLoops.addBiasRows(xs, rs, os, (long) lo * rowsPerItem, r1, c, perImage * repeat);
        });
    }

}
