package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.VectorMask;

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
        Parallel.forRange(items, 1, (lo, hi) -> {
            long end = Math.min(n, (long) hi * chunk);
            for (long i = (long) lo * chunk; i < end; i += VL) {
                VectorMask<Float> m = Vec.head((int) Math.min(VL, end - i));
                Vec.store(Vec.load(acc, i, m).add(Vec.load(add, i, m)), acc, i, m);
            }
        });
    }

    /** Leading element count of a tensor whose last dimension is d (0 when d is 0). */
    static int rows(long size, int d, String what) {
        if (d == 0) return 0;
        long r = size / d;
        if (r > Integer.MAX_VALUE) throw new IllegalArgumentException(what + ": " + r + " rows exceed the int range");
        return (int) r;
    }
}
