package dev.tav4j.model.nn;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One-time host repacking of weights at load. Not a per-step path, but a real-size checkpoint repacks about a
 * billion floats, so the loops are blocked (each pass reads {@link #TILE} source rows side by side and writes
 * whole cache lines) and run on all cores.
 */
public final class HostLayout {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int TILE = 32;

    private HostLayout() {}

    /** [rows, cols] → new [cols, rows]. */
    public static Tensor transpose(Tensor w, int rows, int cols) {
        Tensor out = Tensor.host(cols, rows);
        reverse3(w.segment(), rows, 1, cols, out.segment());
        return out;
    }

    /** [o, i, kh, kw] → new [kh, kw, i, o]. */
    public static Tensor oihwToHwio(Tensor w, int o, int i, int kh, int kw) {
        Tensor out = Tensor.host(kh, kw, i, o);
        reverse3(w.segment(), o, i, kh * kw, out.segment());
        return out;
    }

    /** [kh, kw, i, o] → new [o, i, kh, kw]. */
    public static Tensor hwioToOihw(Tensor w, int o, int i, int kh, int kw) {
        Tensor out = Tensor.host(o, i, kh, kw);
        reverse3(w.segment(), kh * kw, i, o, out.segment());
        return out;
    }

    /**
     * src [n0, n1, n2] → dst [n2, n1, n0]: dst[c][b][a] = src[a][b][c]. Tiles of {@link #TILE} × {@link #TILE}
     * (a, c) go through two small heap buffers with bulk copies, so the inner transpose runs on arrays without
     * per-element segment checks and both memories are touched in whole runs.
     */
    static void reverse3(MemorySegment src, int n0, int n1, int n2, MemorySegment dst) {
        int tiles = (n0 + TILE - 1) / TILE;
        long rowStride = (long) n1 * n2;
        Parallel.forRange(tiles, Math.max(1, (int) (65536 / Math.max(1, (long) TILE * rowStride))), (lo, hi) -> {
            float[] in = new float[TILE * TILE], out = new float[TILE * TILE];
            for (int t = lo; t < hi; t++) {
                int a0 = t * TILE, na = Math.min(n0, a0 + TILE) - a0;
                for (int b = 0; b < n1; b++) {
                    for (int c0 = 0; c0 < n2; c0 += TILE) {
                        int nc = Math.min(n2, c0 + TILE) - c0;
                        for (int a = 0; a < na; a++)
                            MemorySegment.copy(src, F, ((a0 + a) * rowStride + (long) b * n2 + c0) * 4, in, a * TILE, nc);
                        for (int a = 0; a < na; a++)
                            for (int c = 0; c < nc; c++) out[c * TILE + a] = in[a * TILE + c];
                        for (int c = 0; c < nc; c++)
                            MemorySegment.copy(out, c * TILE, dst, F, (((long) (c0 + c) * n1 + b) * n0 + a0) * 4, na);
                    }
                }
            }
        });
    }
}
