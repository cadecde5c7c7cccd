package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/** Point-wise ops: activations, GEGLU, axpby, products, fills, the sum and per-image channel bias; vectorised, parallel over chunks. */
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
        chunks(n, (lo, hi) -> {
            long end = Math.min(n, (long) hi * CHUNK);
            for (long i = (long) lo * CHUNK; i < end; i += VL) {
                VectorMask<Float> m = Vec.head((int) Math.min(VL, end - i));
                FloatVector v = Vec.load(xs, i, m);
                v = switch (act) {
                    case SILU -> VMath.silu(v);
                    case GELU -> VMath.gelu(v);
                    case QUICK_GELU -> VMath.quickGelu(v);
                    case EXP -> VMath.exp(v);
                };
                Vec.store(v, os, i, m);
            }
        });
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
            for (int r = lo; r < hi; r++) {
                long a = (long) r * d2, o = (long) r * d;
                for (int c = 0; c < d; c += VL) {
                    VectorMask<Float> m = Vec.head(d - c);
                    FloatVector y = Vec.load(xs, a + c, m).mul(VMath.gelu(Vec.load(xs, a + d + c, m)));
                    Vec.store(y, os, o + c, m);
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
        chunks(n, (lo, hi) -> {
            long end = Math.min(n, (long) hi * CHUNK);
            for (long i = (long) lo * CHUNK; i < end; i += VL) {
                VectorMask<Float> m = Vec.head((int) Math.min(VL, end - i));
                Vec.store(Vec.load(xs, i, m).mul(a).add(Vec.load(ys, i, m).mul(b)), os, i, m);
            }
        });
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
        chunks(n, (lo, hi) -> {
            long end = Math.min(n, (long) hi * CHUNK);
            for (long i = (long) lo * CHUNK; i < end; i += VL) {
                VectorMask<Float> m = Vec.head((int) Math.min(VL, end - i));
                Vec.store(Vec.load(xs, i, m).mul(Vec.load(ys, i, m)), os, i, m);
            }
        });
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
            for (long r = (long) lo * rowsPerItem; r < r1; r++) {
                long bias = r / perImage / repeat * c, i = r * c;
                for (int c0 = 0; c0 < c; c0 += VL) {
                    VectorMask<Float> m = Vec.head(c - c0);
                    Vec.store(Vec.load(xs, i + c0, m).add(Vec.load(rs, bias + c0, m)), os, i + c0, m);
                }
            }
        });
    }
}
