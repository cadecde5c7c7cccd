package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Tensor;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Heap bytes each CPU kernel allocates per call once the JIT has compiled it. A kernel whose vector loop C2 did
 * not inline and intrinsify boxes every vector it touches (a FloatVector object and its float[] per operation,
 * about 96 bytes per 64-byte vector), which is what made some processes 3–4× slower ({@code docs/performance.md}).
 * So a kernel in that state allocates a multiple of the bytes it touches per call, while a healthy one allocates
 * only its fixed per-call objects (lambdas, fork-join tasks, a few small arrays).
 *
 * <p>The cases run every hot kernel first on shapes that fill whole register tiles and vectors, then on shapes
 * with edges (rows that do not fill a tile, columns and channels that do not fill a vector): the order in which
 * a process first meets its shapes is what used to make C2 compile a kernel without its edge paths, hit an
 * uncommon trap on the first edge, and recompile it past its inlining budget. Allocation is read from {@link
 * com.sun.management.ThreadMXBean#getTotalThreadAllocatedBytes()} (every thread, so the pool's workers count).
 *
 * <p>{@code main} prints the table, for runs with JIT diagnostics ({@code scripts/jit-check.sh}).
 */
final class KernelAllocationProbe implements AutoCloseable {
    /** Per call: a fixed allowance for the kernel's small objects, plus this fraction of the bytes it touches. */
    static final long FIXED_ALLOWANCE = 16 * 1024;
    static final int TOUCHED_DIVISOR = 32;

    /** One kernel call on fixed tensors. */
    record Case(String name, boolean edge, long touchedBytes, Runnable call, Tensor... touched) {
        long limit() {
            return FIXED_ALLOWANCE + touchedBytes / TOUCHED_DIVISOR;
        }
    }

    /** A case's figure: heap bytes per call over {@code calls} calls. */
    record Result(Case kase, double bytesPerCall, int calls) {
        boolean ok() {
            return bytesPerCall <= kase.limit();
        }

        @Override public String toString() {
            return String.format(Locale.ROOT, "%-44s %12.0f B/call  (limit %8d, %s)", kase.name(), bytesPerCall,
                    kase.limit(), ok() ? "ok" : "ALLOCATES");
        }
    }

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final CpuOps ops;
    private final CpuGradOps grads;
    private final Random rnd = new Random(5);
    private final List<Tensor> tensors = new ArrayList<>();
    final List<Case> cases = new ArrayList<>();

    KernelAllocationProbe() {
        this(true);
    }

    /** The cases on the Vector API's kernels, or on their scalar twins ({@code vector} false). */
    KernelAllocationProbe(boolean vector) {
        ops = new CpuOps(dev.tav4j.runtime.BackendSettings.DEFAULTS.withCpuVectorApi(vector));
        grads = new CpuGradOps(ops);
        if (!THREADS.isThreadAllocatedMemorySupported()) throw new IllegalStateException("no per-thread allocation counters");
        THREADS.setThreadAllocatedMemoryEnabled(true);
        for (boolean edge : new boolean[] {false, true}) {
            gemm(edge);
            conv(edge);
            norms(edge);
            attention(edge);
            pointwise(edge);
        }
    }

    static long allocated() {
        return THREADS.getTotalThreadAllocatedBytes();
    }

    private Tensor t(int... shape) {
        Tensor x = Tensor.host(shape);
        for (long i = 0; i < x.size(); i++) x.set(i, rnd.nextFloat() * 2 - 1);
        tensors.add(x);
        return x;
    }

    private void add(String name, boolean edge, Runnable call, Tensor... touched) {
        long bytes = 0;
        for (Tensor x : touched) if (x != null) bytes += x.size() * 4;
        cases.add(new Case(name + (edge ? " (edges)" : ""), edge, bytes, call, touched));
    }

    /** Matmul forward and backward: full 4 × 2·VL tiles, then ragged rows and columns (N below, at and past VL). */
    private void gemm(boolean edge) {
        int vl = Vec.VL;
        int[][] shapes = edge ? new int[][] {{67, 45, 2 * vl + 5}, {30, 64, vl - 3}, {33, 17, vl + 1}}
                : new int[][] {{64, 64, 4 * vl}, {128, 96, 2 * vl}};
        for (int[] s : shapes) {
            int m = s[0], k = s[1], n = s[2];
            String shape = m + "x" + k + "x" + n;
            Tensor a = t(m, k), w = t(k, n), b = t(n), out = t(m, n), dY = t(m, n), dX = t(m, k), dW = t(k, n), dB = t(n);
            add("matmul " + shape, edge, () -> ops.matmul(a, w, b, out), a, w, out);
            add("matmulBackwardInput " + shape, edge, () -> grads.matmulBackwardInput(dY, w, dX), dY, w, dX);
            add("matmulBackwardWeight " + shape, edge, () -> grads.matmulBackwardWeight(a, dY, dW, dB), a, dY, dW);
        }
    }

    /** Convolutions as in the UNet: 3×3 padded, 3×3 stride 2 (bottom-right padding), 1×1; forward and backward. */
    private void conv(boolean edge) {
        int ci = edge ? 24 : 32, co = edge ? 40 : 64, h = edge ? 9 : 8;
        Tensor x = t(2, h, h, ci), w3 = t(3, 3, ci, co), w1 = t(1, 1, ci, co), b = t(co);
        Tensor y3 = t(2, h, h, co), y1 = t(2, h, h, co);
        int hs = (h + 1 - 3) / 2 + 1;
        Tensor ys = t(2, hs, hs, co), dX = t(2, h, h, ci), dW3 = t(3, 3, ci, co), dW1 = t(1, 1, ci, co), dB = t(co);
        add("conv2d 3x3", edge, () -> ops.conv2d(x, w3, b, 1, 1, false, y3), x, w3, y3);
        add("conv2d 3x3 stride 2", edge, () -> ops.conv2d(x, w3, b, 2, 0, true, ys), x, w3, ys);
        add("conv2d 1x1", edge, () -> ops.conv2d(x, w1, b, 1, 0, false, y1), x, w1, y1);
        add("conv2dBackwardInput 3x3", edge, () -> grads.conv2dBackwardInput(y3, w3, 1, 1, false, dX), y3, w3, dX);
        add("conv2dBackwardInput 3x3 stride 2", edge, () -> grads.conv2dBackwardInput(ys, w3, 2, 0, true, dX), ys, w3, dX);
        add("conv2dBackwardWeight 3x3", edge, () -> grads.conv2dBackwardWeight(x, y3, 1, 1, false, dW3, dB), x, y3, dW3);
        add("conv2dBackwardWeight 1x1", edge, () -> grads.conv2dBackwardWeight(x, y1, 1, 0, false, dW1, dB), x, y1, dW1);
    }

    /** GroupNorm (pooled over frames, with and without SiLU) and LayerNorm, forward and backward. */
    private void norms(boolean edge) {
        int c = edge ? 40 : 64, hw = edge ? 7 : 8;
        Tensor x = t(4, hw, hw, c), g = t(c), be = t(c), out = t(4, hw, hw, c), dY = t(4, hw, hw, c), dX = t(4, hw, hw, c);
        Tensor dG = t(c), dB = t(c);
        for (boolean silu : new boolean[] {false, true}) {
            String s = silu ? " +silu" : "";
            add("groupNorm" + s, edge, () -> ops.groupNorm(x, 8, 2, g, be, 1e-5f, silu, out), x, out);
            add("groupNormBackward" + s, edge, () -> grads.groupNormBackward(x, 8, 2, g, be, 1e-5f, silu, dY, dX), x, dY, dX);
            add("groupNormBackwardAffine" + s, edge,
                    () -> grads.groupNormBackwardAffine(x, 8, 2, g, be, 1e-5f, silu, dY, dG, dB), x, dY);
        }
        int d = edge ? 77 : 64;
        Tensor lx = t(48, d), lg = t(d), lb = t(d), lo = t(48, d), ldy = t(48, d), ldx = t(48, d), ldg = t(d), ldb = t(d);
        add("layerNorm", edge, () -> ops.layerNorm(lx, lg, lb, 1e-5f, lo), lx, lo);
        add("layerNormBackward", edge, () -> grads.layerNormBackward(lx, lg, 1e-5f, ldy, ldx), lx, ldy, ldx);
        add("layerNormBackwardAffine", edge, () -> grads.layerNormBackwardAffine(lx, lg, 1e-5f, ldy, ldg, ldb), lx, ldy);
    }

    /** Every attention kind, forward and backward; edges: key counts and head sizes that do not fill vectors. */
    private void attention(boolean edge) {
        int n = 4, frames = 2, l = edge ? 45 : 64, c = edge ? 40 : 64, heads = edge ? 5 : 2;
        float scale = (float) (1 / Math.sqrt(c / heads));
        for (AttentionKind kind : AttentionKind.values()) {
            int nk = kind == AttentionKind.CROSS ? n / frames : n, lk = kind == AttentionKind.CROSS ? (edge ? 77 : 32) : l;
            Tensor q = t(n, l, c), k = t(nk, lk, c), v = t(nk, lk, c), o = t(n, l, c);
            Tensor dO = t(n, l, c), dQ = t(n, l, c), dK = t(nk, lk, c), dV = t(nk, lk, c);
            add("attention " + kind, edge, () -> ops.attention(kind, frames, heads, scale, q, k, v, o), q, k, v, o);
            add("attentionBackward " + kind, edge,
                    () -> grads.attentionBackward(kind, frames, heads, scale, q, k, v, dO, dQ, dK, dV), q, k, v, dO, dQ, dK, dV);
        }
    }

    /** Element-wise ops and their gradients; edges: lengths and channel counts that leave a partial vector. */
    private void pointwise(boolean edge) {
        int len = edge ? 4099 : 4096, c = edge ? 45 : 64, rows = 64;
        Tensor x = t(len), y = t(len), out = t(len), dY = t(len), dX = t(len);
        for (Activation act : Activation.values()) {
            add("activation " + act, edge, () -> ops.activation(act, x, out), x, out);
            add("activationBackward " + act, edge, () -> grads.activationBackward(act, x, dY, dX), x, dY, dX);
        }
        add("axpby", edge, () -> ops.axpby(0.5f, x, -2f, y, out), x, y, out);
        Tensor gx = t(rows, 2 * c), go = t(rows, c), gdY = t(rows, c), gdX = t(rows, 2 * c);
        add("geglu", edge, () -> ops.geglu(gx, go), gx, go);
        add("gegluBackward", edge, () -> grads.gegluBackward(gx, gdY, gdX), gx, gdY, gdX);
        Tensor bx = t(4, 8, 8, c), bRows = t(2, c), bo = t(4, 8, 8, c), bdr = t(2, c);
        add("addChannelBias", edge, () -> ops.addChannelBias(bx, bRows, 2, bo), bx, bo);
        add("addChannelBiasBackward", edge, () -> grads.addChannelBiasBackward(bx, 2, bdr), bx);
        Tensor ux = t(2, 4, 4, c), uo = t(2, 8, 8, c), udx = t(2, 4, 4, c);
        add("upsampleNearest", edge, () -> ops.upsampleNearest(ux, uo), ux, uo);
        add("upsampleNearestBackward", edge, () -> grads.upsampleNearestBackward(uo, udx), uo, udx);
        add("sumOfSquares", edge, () -> grads.sumOfSquares(x), x);
        Tensor p = t(len), gr = t(len), m = t(len), v = t(len);
        for (long i = 0; i < len; i++) v.set(i, Math.abs(v.get(i)));
        add("adamW", edge, () -> grads.adamW(p, gr, m, v, 1f, 1e-9f, 0.9f, 0.999f, 0.01f, 1e-8f, 3), p, gr, m, v);
    }

    /**
     * Runs the Vector API's shared methods on every other float species (add, fma, max, blend, compare, loads,
     * stores, lane sums, the int reinterpretation, add and shift of the attention's exponential), so that the JDK's own type profiles, which C2 consults wherever it does not know a vector's
     * exact class, are polymorphic before any kernel runs: as in a process where other code uses the Vector API.
     * Returns a checksum so that nothing is dead code.
     */
    static float pollute(int rounds) {
        float[] a = new float[64], b = new float[64];
        java.util.Arrays.fill(a, 1.5f);
        float sink = 0;
        for (int r = 0; r < rounds; r++)
            for (jdk.incubator.vector.VectorSpecies<Float> sp : List.of(jdk.incubator.vector.FloatVector.SPECIES_64,
                    jdk.incubator.vector.FloatVector.SPECIES_128, jdk.incubator.vector.FloatVector.SPECIES_256,
                    jdk.incubator.vector.FloatVector.SPECIES_512, jdk.incubator.vector.FloatVector.SPECIES_MAX)) {
                jdk.incubator.vector.FloatVector acc = jdk.incubator.vector.FloatVector.zero(sp), mx = acc;
                for (int i = 0; i + sp.length() <= a.length; i += sp.length()) {
                    jdk.incubator.vector.FloatVector v = jdk.incubator.vector.FloatVector.fromArray(sp, a, i);
                    acc = acc.add(v);
                    acc = v.fma(v, acc);
                    mx = mx.max(v);
                    acc = acc.mul(0.5f).sub(v).div(2f).neg().abs();
                    acc = acc.blend(v, sp.indexInRange(0, 1));
                    acc = acc.blend(v, acc.compare(jdk.incubator.vector.VectorOperators.LT, v));
                    acc = acc.reinterpretAsInts().add(v.reinterpretAsInts().lanewise(
                            jdk.incubator.vector.VectorOperators.LSHL, 1)).reinterpretAsFloats().abs();
                }
                acc.intoArray(b, 0);
                mx.intoArray(b, 0);
                sink += acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD) + mx.lane(0) + b[0];
            }
        return sink;
    }

    /** Runs every case {@code calls} times, full-tile cases first, then the edge cases. */
    void warm(int calls) {
        for (boolean edge : new boolean[] {false, true})
            for (Case k : cases)
                if (k.edge() == edge) for (int i = 0; i < calls; i++) k.call().run();
    }

    /** Heap bytes per call of one case over {@code calls} calls (after one unmeasured call). */
    static Result measure(Case k, int calls) {
        k.call().run();
        long before = allocated();
        for (int i = 0; i < calls; i++) k.call().run();
        return new Result(k, (double) (allocated() - before) / calls, calls);
    }

    /**
     * Runs every case {@code times} times in order and prints a hash of its tensors' bits after each case: two
     * builds of the kernels compute bit-identical results when their lists match (run under -Xint to leave the
     * JIT's EXP out of it).
     */
    static void fingerprint(int times) {
        try (KernelAllocationProbe p = new KernelAllocationProbe()) {
            for (int i = 0; i < times; i++)
                for (Case k : p.cases) {
                    k.call().run();
                    long h = 1;
                    for (Tensor x : k.touched()) if (x != null) for (float f : x.toArray()) h = h * 31 + Float.floatToRawIntBits(f);
                    System.out.printf(Locale.ROOT, "%-44s %016x%n", k.name(), h);
                }
        }
    }

    @Override public void close() {
        tensors.forEach(Tensor::close);
    }

    /**
     * Warms every case (full shapes first, then edges), measures each, gives the cases that still allocate one
     * more warm-up (the JIT may not have reached them yet) and measures those again; prints every figure and
     * exits with 1 when a kernel still allocates. Args: warm-up calls per case (300), measured calls (20), and
     * {@code pollute} to run the Vector API on other species first ({@link #pollute}) or {@code scalar} to probe the
     * scalar twins instead (BackendSettings.cpuVectorApi off); or
     * {@code fingerprint [times]}. Run it with -Xbatch and scaled-down compile thresholds for a quick, repeatable
     * warm-up (as {@code SteadyStateAllocationTest} does).
     */
    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("fingerprint")) {
            fingerprint(args.length > 1 ? Integer.parseInt(args[1]) : 1);
            return;
        }
        int warm = args.length > 0 ? Integer.parseInt(args[0]) : 300, calls = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        boolean pollute = args.length > 2 && args[2].equals("pollute"), scalar = args.length > 2 && args[2].equals("scalar");
        if (pollute) System.out.printf(Locale.ROOT, "other species first (checksum %.1f)%n", pollute(20000));
        List<Result> bad = new ArrayList<>();
        try (KernelAllocationProbe p = new KernelAllocationProbe(!scalar)) {
            if (scalar) System.out.println("scalar kernels");
            long t0 = System.nanoTime();
            p.warm(warm);
            System.out.printf(Locale.ROOT, "warm-up: %d calls per case, %.1f s; bytes per call over %d calls, after one more%n",
                    warm, (System.nanoTime() - t0) / 1e9, calls);
            for (Case k : p.cases) {
                Result r = measure(k, calls);
                if (!r.ok()) { // once more: a kernel the JIT had not compiled yet
                    for (int i = 0; i < warm; i++) k.call().run();
                    Result again = measure(k, calls);
                    System.out.println(r + "  -> after " + warm + " more calls:");
                    r = again;
                }
                System.out.println(r);
                if (!r.ok()) bad.add(r);
            }
            System.out.printf(Locale.ROOT, "%s (%.1f s)%n", bad.isEmpty() ? "all " + p.cases.size() + " kernels steady"
                    : bad.size() + " kernels allocate per call", (System.nanoTime() - t0) / 1e9);
        }
        System.exit(bad.isEmpty() ? 0 : 1);
    }
}
