package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.NATIVE;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** Small parallel helpers shared by the backward passes: blocked transposes and in-place accumulation. */
final class CpuGradSupport {
    /** Side of the square tiles a transpose moves at a time (fits L1 for both sides). */
    private static final int TILE = 32;

    private CpuGradSupport() {}

    /**
     * dst[dstOff + c·ldDst + r] = src[srcOff + r·ldSrc + c] for r &lt; rows, c &lt; cols (indices in floats),
     * parallel over tiles of columns.
     */
    static void transpose(MemorySegment src, long srcOff, int ldSrc, int rows, int cols, MemorySegment dst,
                          long dstOff, int ldDst) {
        int colTiles = (cols + TILE - 1) / TILE;
        int rowTiles = (rows + TILE - 1) / TILE;
        Parallel.forRange(colTiles * rowTiles, Math.max(1, 64 * 1024 / (TILE * TILE)), (lo, hi) -> {
            for (int t = lo; t < hi; t++) {
                int c0 = t / rowTiles * TILE, r0 = t % rowTiles * TILE;
                int c1 = Math.min(cols, c0 + TILE), r1 = Math.min(rows, r0 + TILE);
                for (int c = c0; c < c1; c++) {
                    long d = dstOff + (long) c * ldDst;
                    for (int r = r0; r < r1; r++) Vec.set(dst, d + r, Vec.get(src, srcOff + (long) r * ldSrc + c));
                }
            }
        });
    }

    /** acc[i] += add[i] for i &lt; n, vectorised and parallel. */
    static void accumulate(MemorySegment acc, MemorySegment add, long n) {
        int chunk = 1 << 14;
        int items = (int) ((n + chunk - 1) / chunk);
        Parallel.forRange(items, 1, (lo, hi) -> add(acc, add, (long) lo * chunk, Math.min(n, (long) hi * chunk)));
    }

    /** acc += add over [from, to): whole vectors in place, the last partial one through a per-thread array. */
    private static void add(MemorySegment acc, MemorySegment add, long from, long to) {
        long full = from + (to - from) / VL * VL;
        for (long i = from; i < full; i += VL) {
            FloatVector a = FloatVector.fromMemorySegment(S, acc, i << 2, NATIVE);
            a.add(FloatVector.fromMemorySegment(S, add, i << 2, NATIVE)).intoMemorySegment(acc, i << 2, NATIVE);
        }
        int rem = (int) (to - full);
        if (rem == 0) return;
        float[] t = Scratch.floats(0, 2 * VL);
        Vec.tailIn(acc, full, rem, t, 0);
        Vec.tailIn(add, full, rem, t, VL);
        FloatVector.fromArray(S, t, 0).add(FloatVector.fromArray(S, t, VL)).intoArray(t, 0);
        Vec.tailOut(t, 0, rem, acc, full);
    }

    /** Leading element count of a tensor whose last dimension is d (0 when d is 0). */
    static int rows(long size, int d, String what) {
        if (d == 0) return 0;
        long r = size / d;
        if (r > Integer.MAX_VALUE) throw new IllegalArgumentException(what + ": " + r + " rows exceed the int range");
        return (int) r;
    }
}
