package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.F;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * dW[K, N] += x[M, K]ᵀ · dY[M, N] from the row-major operands. dW is cut into {@link #MR} × {@link #NR}
 * register tiles, ordered panel by panel; a work item owns a run of tiles (no two threads write the same
 * element) and sweeps M in blocks: per block it copies the rows of x and, per panel, the panel of dY into
 * per-thread heap buffers (zero-padded to NR), which its tiles then stream through. Each element is summed over
 * M in one fixed order, whatever the thread count. The rows of x may also be gathered on the fly ({@link Rows}): the
 * conv weight gradient packs input patches this way (an implicit im2col).
 */
final class CpuMatmulGradWeight {
    static final int MR = 4;
    static final int NR = 2 * VL;
    /** Rows of x and dY per block. */
    static final int MB = 256;

    private CpuMatmulGradWeight() {}

    /** Copies rows [m0, m0 + rows) of the left operand x [M, K] into xb, row r at xb[r·kp] (kp ≥ K). */
    @FunctionalInterface
    interface Rows {
        void pack(int m0, int rows, float[] xb, int kp);
    }

    static void accumulate(MemorySegment x, MemorySegment dy, MemorySegment dw, int m, int k, int n) {
        accumulate((m0, rows, xb, kp) -> {
            for (int r = 0; r < rows; r++) MemorySegment.copy(x, F, ((long) (m0 + r) * k) << 2, xb, r * kp, k);
        }, dy, dw, m, k, n);
    }

    /** The same with the rows of x made by {@code x} (a gathered matrix never stored whole: conv patches). */
    static void accumulate(Rows x, MemorySegment dy, MemorySegment dw, int m, int k, int n) {
        int kGroups = (k + MR - 1) / MR, panels = (n + NR - 1) / NR, tiles = kGroups * panels;
        int items = Math.min(tiles, 4 * Parallel.THREADS);
        Parallel.forRange(items, 1, (lo, hi) -> {
            int t0 = (int) ((long) tiles * lo / items), t1 = (int) ((long) tiles * hi / items);
            int kp = kGroups * MR; // x rows padded so the last group may read past K
            float[] xb = Scratch.floats(0, MB * kp), yb = Scratch.floats(1, MB * NR);
            for (int m0 = 0; m0 < m; m0 += MB) {
                int rows = Math.min(MB, m - m0);
                x.pack(m0, rows, xb, kp);
                int panel = -1;
                for (int t = t0; t < t1; t++) {
                    int p = t / kGroups, k0 = t % kGroups * MR;
                    if (p != panel) {
                        panel = p;
                        packPanel(dy, m0, rows, n, p * NR, yb);
                    }
                    tile(xb, kp, yb, rows, dw, n, k0, Math.min(MR, k - k0), p * NR, Math.min(NR, n - p * NR));
                }
            }
        });
    }

    /** yb[r·NR + j] = dY[m0 + r, n0 + j], zero past N. */
    private static void packPanel(MemorySegment dy, int m0, int rows, int n, int n0, float[] yb) {
        int ncols = Math.min(NR, n - n0);
        VectorMask<Float> ma = Vec.head(Math.min(ncols, VL)), mb = Vec.head(ncols - VL);
        long src = (long) m0 * n + n0;
        for (int r = 0; r < rows; r++, src += n) {
            Vec.load(dy, src, ma).intoArray(yb, r * NR);
            Vec.load(dy, src + VL, mb).intoArray(yb, r * NR + VL);
        }
    }

    /** dW[k0..k0+nrows, n0..n0+ncols] += Σ_r xb[r, k0..]ᵀ · yb[r, :]; rows past nrows are computed but not stored. */
    private static void tile(float[] xb, int kp, float[] yb, int rows, MemorySegment dw, int n, int k0, int nrows,
                             int n0, int ncols) {
        VectorMask<Float> ma = Vec.head(Math.min(ncols, VL)), mb = Vec.head(ncols - VL);
        long w0 = (long) k0 * n + n0;
        long w1 = nrows > 1 ? w0 + n : w0, w2 = nrows > 2 ? w0 + 2L * n : w0, w3 = nrows > 3 ? w0 + 3L * n : w0;
        FloatVector c00 = Vec.load(dw, w0, ma), c01 = Vec.load(dw, w0 + VL, mb);
        FloatVector c10 = Vec.load(dw, w1, ma), c11 = Vec.load(dw, w1 + VL, mb);
        FloatVector c20 = Vec.load(dw, w2, ma), c21 = Vec.load(dw, w2 + VL, mb);
        FloatVector c30 = Vec.load(dw, w3, ma), c31 = Vec.load(dw, w3 + VL, mb);
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
        Vec.store(c00, dw, w0, ma);
        Vec.store(c01, dw, w0 + VL, mb);
        if (nrows > 1) { Vec.store(c10, dw, w1, ma); Vec.store(c11, dw, w1 + VL, mb); }
        if (nrows > 2) { Vec.store(c20, dw, w2, ma); Vec.store(c21, dw, w2 + VL, mb); }
        if (nrows > 3) { Vec.store(c30, dw, w3, ma); Vec.store(c31, dw, w3 + VL, mb); }
    }
}
