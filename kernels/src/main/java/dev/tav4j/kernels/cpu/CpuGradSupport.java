package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import java.lang.foreign.MemorySegment;

/** Small parallel helpers shared by the backward passes: blocked transposes and row counts. */
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
                    for (int r = r0; r < r1; r++) Floats.set(dst, d + r, Floats.get(src, srcOff + (long) r * ldSrc + c));
                }
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
