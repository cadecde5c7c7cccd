package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Floats.F;
import static dev.tav4j.kernels.cpu.Floats.NATIVE;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * dW[K, N] += x[M, K]ᵀ · dY[M, N] from the row-major operands. dW is cut into {@link #MR} × {@link #NR}
 * register tiles, ordered panel by panel; a work item owns a run of tiles (no two threads write the same
 * element) and sweeps M in blocks: per block it copies the rows of x and, per panel, the panel of dY into
 * per-thread heap buffers (zero-padded to NR), which its tiles then stream through. A tile's accumulators go
 * through a per-thread array, so the micro-kernel is the same, without masks, for tiles on the edges of dW. Each element is summed over
 * M in one fixed order, whatever the thread count. The rows of x may also be gathered on the fly ({@link Gemm.PackRows}): the
 * conv weight gradient packs input patches this way (an implicit im2col).
 */
final class CpuMatmulGradWeight {
    static final int MR = 4;
    static final int NR = 2 * VL;
    /** Rows of x and dY per block. */
    static final int MB = 256;

    private CpuMatmulGradWeight() {}

    /** dW += xᵀ · dY with the rows of x made by {@code x} (plain rows, or conv patches never stored whole). */
    static void accumulate(Gemm.PackRows x, MemorySegment dy, MemorySegment dw, int m, int k, int n) {
        int kGroups = (k + MR - 1) / MR, panels = (n + NR - 1) / NR, tiles = kGroups * panels;
        int items = Math.min(tiles, 4 * Parallel.THREADS);
        Parallel.forRange(items, 1, (lo, hi) -> {
            int t0 = (int) ((long) tiles * lo / items), t1 = (int) ((long) tiles * hi / items);
            int kp = kGroups * MR; // x rows padded so the last group may read past K
            float[] xb = Scratch.floats(0, MB * kp), yb = Scratch.floats(1, MB * NR), acc = Scratch.floats(2, MR * NR);
            for (int m0 = 0; m0 < m; m0 += MB) {
                int rows = Math.min(MB, m - m0);
                x.pack(m0, rows, xb, kp);
                int panel = -1;
                for (int t = t0; t < t1; t++) {
                    int p = t / kGroups, k0 = t % kGroups * MR;
                    int n0 = p * NR, ncols = Math.min(NR, n - n0), nrows = Math.min(MR, k - k0);
                    if (p != panel) {
                        panel = p;
                        if (ncols == NR) packPanel(dy, m0, rows, n, n0, yb);
                        else packPanelEdge(dy, m0, rows, n, n0, ncols, yb);
                    }
                    long w0 = (long) k0 * n + n0;
                    boolean full = nrows == MR && ncols == NR;
                    if (full) loadFull(dw, w0, n, acc);
                    else loadEdge(dw, w0, n, nrows, ncols, acc);
                    tile(xb, kp, yb, rows, k0, acc);
                    if (full) storeFull(acc, dw, w0, n);
                    else storeEdge(acc, dw, w0, n, nrows, ncols);
                }
            }
        });
    }

    /** yb[r·NR + j] = dY[m0 + r, n0 + j] for a panel of NR columns inside dY. */
    private static void packPanel(MemorySegment dy, int m0, int rows, int n, int n0, float[] yb) {
        long src = ((long) m0 * n + n0) << 2, step = (long) n << 2;
        for (int r = 0; r < rows; r++, src += step) {
            FloatVector.fromMemorySegment(S, dy, src, NATIVE).intoArray(yb, r * NR);
            FloatVector.fromMemorySegment(S, dy, src + VL * 4L, NATIVE).intoArray(yb, r * NR + VL);
        }
    }

    /** The last panel, ncols &lt; NR columns of dY: copied, zero past N. */
    private static void packPanelEdge(MemorySegment dy, int m0, int rows, int n, int n0, int ncols, float[] yb) {
        long src = ((long) m0 * n + n0) << 2, step = (long) n << 2;
        for (int r = 0; r < rows; r++, src += step) {
            MemorySegment.copy(dy, F, src, yb, r * NR, ncols);
            java.util.Arrays.fill(yb, r * NR + ncols, (r + 1) * NR, 0f);
        }
    }

    /** acc[r][0, NR) = dW[k0 + r, n0 .. n0 + NR) for the MR rows of a full tile (w0 its first element). */
    private static void loadFull(MemorySegment dw, long w0, int n, float[] acc) {
        for (int r = 0; r < MR; r++, w0 += n) {
            FloatVector.fromMemorySegment(S, dw, w0 << 2, NATIVE).intoArray(acc, r * NR);
            FloatVector.fromMemorySegment(S, dw, (w0 + VL) << 2, NATIVE).intoArray(acc, r * NR + VL);
        }
    }

    /** The part of a tile inside dW into acc, zeros elsewhere (rows and columns past dW are computed, never stored). */
    private static void loadEdge(MemorySegment dw, long w0, int n, int nrows, int ncols, float[] acc) {
        java.util.Arrays.fill(acc, 0, MR * NR, 0f);
        for (int r = 0; r < nrows; r++) MemorySegment.copy(dw, F, (w0 + (long) r * n) << 2, acc, r * NR, ncols);
    }

    private static void storeFull(float[] acc, MemorySegment dw, long w0, int n) {
        for (int r = 0; r < MR; r++, w0 += n) {
            FloatVector.fromArray(S, acc, r * NR).intoMemorySegment(dw, w0 << 2, NATIVE);
            FloatVector.fromArray(S, acc, r * NR + VL).intoMemorySegment(dw, (w0 + VL) << 2, NATIVE);
        }
    }

    private static void storeEdge(float[] acc, MemorySegment dw, long w0, int n, int nrows, int ncols) {
        for (int r = 0; r < nrows; r++) MemorySegment.copy(acc, r * NR, dw, F, (w0 + (long) r * n) << 2, ncols);
    }

    /**
     * The micro-kernel: acc [MR][NR] += Σ_r xb[r, k0 .. k0 + MR)ᵀ · yb[r, :], the same for full and edge tiles (x's
     * rows are padded past K, dY's panel past N), so the FMA loop has no branch and no mask.
     */
    private static void tile(float[] xb, int kp, float[] yb, int rows, int k0, float[] acc) {
        FloatVector c00 = FloatVector.fromArray(S, acc, 0), c01 = FloatVector.fromArray(S, acc, VL);
        FloatVector c10 = FloatVector.fromArray(S, acc, NR), c11 = FloatVector.fromArray(S, acc, NR + VL);
        FloatVector c20 = FloatVector.fromArray(S, acc, 2 * NR), c21 = FloatVector.fromArray(S, acc, 2 * NR + VL);
        FloatVector c30 = FloatVector.fromArray(S, acc, 3 * NR), c31 = FloatVector.fromArray(S, acc, 3 * NR + VL);
        for (int r = 0, xi = k0, yi = 0; r < rows; r++, xi += kp, yi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, yb, yi), b1 = FloatVector.fromArray(S, yb, yi + VL);
            FloatVector a = FloatVector.broadcast(S, xb[xi]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, xb[xi + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, xb[xi + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, xb[xi + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
        }
        Vec.ZERO.blend(c00, Vec.ALL).intoArray(acc, 0);
        Vec.ZERO.blend(c01, Vec.ALL).intoArray(acc, VL);
        Vec.ZERO.blend(c10, Vec.ALL).intoArray(acc, NR);
        Vec.ZERO.blend(c11, Vec.ALL).intoArray(acc, NR + VL);
        Vec.ZERO.blend(c20, Vec.ALL).intoArray(acc, 2 * NR);
        Vec.ZERO.blend(c21, Vec.ALL).intoArray(acc, 2 * NR + VL);
        Vec.ZERO.blend(c30, Vec.ALL).intoArray(acc, 3 * NR);
        Vec.ZERO.blend(c31, Vec.ALL).intoArray(acc, 3 * NR + VL);
    }
}
