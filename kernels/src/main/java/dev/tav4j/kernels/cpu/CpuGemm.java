package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Floats.F;
import static dev.tav4j.kernels.cpu.Floats.NATIVE;
import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import java.lang.foreign.MemorySegment;
import dev.tav4j.kernels.cpu.Gemm.Rows;
import dev.tav4j.kernels.cpu.Gemm.Runs;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Blocked single-precision GEMM on the Vector API: C[M, N] = A · B (+ bias), B [K, N] row-major. Rows of A are located through
 * {@link Rows} and K may be split into runs that read A at different shifts, which is how a convolution runs
 * as an implicit GEMM straight over its (padded) input. B is packed once per call into zero-padded panels of
 * {@link #NR} columns ({@link #NR_NARROW} for a narrow B); a register-blocked micro-kernel computes {@link #MR} × NR
 * tiles over the whole K. Its loop has no mask and no branch: tiles on the bottom and right edges compute in full
 * (B's padding is zero, missing rows repeat row 0) and only their store differs.
 */
final class CpuGemm {
    // 4 rows × 4 vectors: 16 accumulators, 4 vectors of B and a broadcast fit AVX-512's 32 registers, and each B load
    // feeds 4 FMAs, each broadcast 4. Against 4 × 2 (JMH MatmulBench, Conv2dBench; AMD EPYC Zen 5, 2026-12-04):
    // 1.2–1.6× faster (1.2 at K = 64), and up to 1.2× faster under -XX:UseAVX=2 (16 registers: some operands stay in
    // memory). docs/performance.md, "The GEMM micro-kernel".
    // An 8-row tile made C2 spill its vectors (10× slower): its eight row offsets do not fit the integer registers.
    static final int MR = 4;
    static final int NR = 4 * VL;
    /**
     * The panel width where N ≤ 2·VL (a UNet's or VAE's last convolution, 4 or 3 output channels): the 4 × 2
     * tile, so such a GEMM computes at most 2·VL columns, not 4·VL.
     */
    static final int NR_NARROW = 2 * VL;
    /** Bytes of packed B a work item keeps hot in L2. */
    private static final int B_BLOCK_BYTES = 256 * 1024;
    private static final ThreadLocal<float[][]> PACK = ThreadLocal.withInitial(() -> new float[1][0]);

    private CpuGemm() {}

    static void gemm(MemorySegment a, Rows rows, Runs runs, int m, int k, MemorySegment b, MemorySegment bias, int n,
                     MemorySegment c) {
        if (m == 0 || n == 0) return;
        int nr = n <= NR_NARROW ? NR_NARROW : NR;
        int panels = (n + nr - 1) / nr;
        float[] bp = packB(b, bias, k, n, nr, panels);
        int biasBase = panels * k * nr;

        int rowGroups = (m + MR - 1) / MR;
        int ppg = Math.max(1, Math.min(panels, B_BLOCK_BYTES / Math.max(1, k * nr * 4)));
        int gpb = 16; // row groups per block
        int target = 4 * Parallel.THREADS;
        while (gpb > 1 && ceilDiv(rowGroups, gpb) * ceilDiv(panels, ppg) < target) gpb >>= 1;
        while (ppg > 1 && ceilDiv(rowGroups, gpb) * ceilDiv(panels, ppg) < target) ppg = (ppg + 1) >> 1;
        int fgpb = gpb, fppg = ppg, pgs = ceilDiv(panels, ppg);
        int items = ceilDiv(rowGroups, gpb) * pgs;

        Parallel.forRange(items, 1, (lo, hi) -> {
            float[] acc = Scratch.floats(0, MR * nr);
            for (int item = lo; item < hi; item++) {
                int g0 = item / pgs * fgpb, g1 = Math.min(rowGroups, g0 + fgpb);
                int p0 = item % pgs * fppg, p1 = Math.min(panels, p0 + fppg);
                for (int g = g0; g < g1; g++) {
                    int r0 = g * MR, nrows = Math.min(MR, m - r0);
                    long a0 = rows.offset(r0);
                    long a1 = nrows > 1 ? rows.offset(r0 + 1) : a0;
                    long a2 = nrows > 2 ? rows.offset(r0 + 2) : a0;
                    long a3 = nrows > 3 ? rows.offset(r0 + 3) : a0;
                    for (int p = p0; p < p1; p++) {
                        int ncols = Math.min(nr, n - p * nr);
                        long cIdx = (long) r0 * n + (long) p * nr;
                        if (nr == NR) tile(a, a0, a1, a2, a3, runs, bp, p * k * nr, biasBase + p * nr, acc);
                        else tileNarrow(a, a0, a1, a2, a3, runs, bp, p * k * nr, biasBase + p * nr, acc);
                        if (nrows == MR && ncols == nr) storeFull(acc, nr, c, cIdx, n);
                        else storeEdge(acc, nr, c, cIdx, n, nrows, ncols);
                    }
                }
            }
        });
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** Packs B into panels [panel][k][nr] (zero-padded past N) followed by the bias padded to panels·nr. */
    private static float[] packB(MemorySegment b, MemorySegment bias, int k, int n, int nr, int panels) {
        int need = panels * k * nr + panels * nr;
        float[][] holder = PACK.get();
        if (holder[0].length < need) holder[0] = new float[need];
        float[] bp = holder[0];
        Parallel.forRange(panels, Math.max(1, 4096 / Math.max(1, k)), (lo, hi) -> {
            for (int p = lo; p < hi; p++) {
                int col = p * nr, ncols = Math.min(nr, n - col);
                if (ncols == nr) packFull(b, col, k, n, nr, bp, p * k * nr);
                else packEdge(b, col, ncols, k, n, nr, bp, p * k * nr);
            }
        });
        int biasBase = panels * k * nr;
        for (int j = 0; j < panels * nr; j++) bp[biasBase + j] = bias != null && j < n ? Floats.get(bias, j) : 0f;
        return bp;
    }

    /** bp[dst + kk·nr + j] = B[kk, col + j] for a panel of nr columns inside B. */
    private static void packFull(MemorySegment b, int col, int k, int n, int nr, float[] bp, int dst) {
        long src = (long) col << 2, step = (long) n << 2;
        for (int kk = 0; kk < k; kk++, dst += nr, src += step)
            for (int v = 0; v < nr; v += VL) FloatVector.fromMemorySegment(S, b, src + v * 4L, NATIVE).intoArray(bp, dst + v);
    }

    /** The last panel, ncols &lt; nr columns: copied, the rest of each row zero. */
    private static void packEdge(MemorySegment b, int col, int ncols, int k, int n, int nr, float[] bp, int dst) {
        long src = (long) col << 2, step = (long) n << 2;
        for (int kk = 0; kk < k; kk++, dst += nr, src += step) {
            MemorySegment.copy(b, F, src, bp, dst, ncols);
            Arrays.fill(bp, dst + ncols, dst + nr, 0f);
        }
    }

    /**
     * The micro-kernel: one MR × NR tile of C over the whole K into acc [MR][NR] (rows past the matrix repeat row 0).
     * Full and edge tiles run the same code; only where acc goes afterwards differs ({@link #storeFull}, {@link
     * #storeEdge}), so the FMA loop has no branch and no mask.
     */
    private static void tile(MemorySegment a, long a0, long a1, long a2, long a3, Runs runs, float[] bp, int pBase,
                             int biasIdx, float[] acc) {
        FloatVector c00 = FloatVector.fromArray(S, bp, biasIdx), c01 = FloatVector.fromArray(S, bp, biasIdx + VL);
        FloatVector c02 = FloatVector.fromArray(S, bp, biasIdx + 2 * VL), c03 = FloatVector.fromArray(S, bp, biasIdx + 3 * VL);
        FloatVector c10 = c00, c11 = c01, c12 = c02, c13 = c03, c20 = c00, c21 = c01, c22 = c02, c23 = c03;
        FloatVector c30 = c00, c31 = c01, c32 = c02, c33 = c03;
        long[] shift = runs.shift();
        int[] k0 = runs.k0(), len = runs.len();
        for (int r = 0; r < shift.length; r++) {
            long sh = shift[r];
            long x0 = (a0 + sh) << 2, x1 = (a1 + sh) << 2, x2 = (a2 + sh) << 2, x3 = (a3 + sh) << 2;
            int bi = pBase + k0[r] * NR;
            int l = len[r];
            for (int kk = 0; kk < l; kk++, bi += NR) {
                FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + VL);
                FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * VL), b3 = FloatVector.fromArray(S, bp, bi + 3 * VL);
                long o = (long) kk << 2;
                FloatVector v = FloatVector.broadcast(S, a.get(F, x0 + o));
                c00 = v.fma(b0, c00);
                c01 = v.fma(b1, c01);
                c02 = v.fma(b2, c02);
                c03 = v.fma(b3, c03);
                v = FloatVector.broadcast(S, a.get(F, x1 + o));
                c10 = v.fma(b0, c10);
                c11 = v.fma(b1, c11);
                c12 = v.fma(b2, c12);
                c13 = v.fma(b3, c13);
                v = FloatVector.broadcast(S, a.get(F, x2 + o));
                c20 = v.fma(b0, c20);
                c21 = v.fma(b1, c21);
                c22 = v.fma(b2, c22);
                c23 = v.fma(b3, c23);
                v = FloatVector.broadcast(S, a.get(F, x3 + o));
                c30 = v.fma(b0, c30);
                c31 = v.fma(b1, c31);
                c32 = v.fma(b2, c32);
                c33 = v.fma(b3, c33);
            }
        }
        Vec.ZERO.blend(c00, Vec.ALL).intoArray(acc, 0);
        Vec.ZERO.blend(c01, Vec.ALL).intoArray(acc, VL);
        Vec.ZERO.blend(c02, Vec.ALL).intoArray(acc, 2 * VL);
        Vec.ZERO.blend(c03, Vec.ALL).intoArray(acc, 3 * VL);
        Vec.ZERO.blend(c10, Vec.ALL).intoArray(acc, NR);
        Vec.ZERO.blend(c11, Vec.ALL).intoArray(acc, NR + VL);
        Vec.ZERO.blend(c12, Vec.ALL).intoArray(acc, NR + 2 * VL);
        Vec.ZERO.blend(c13, Vec.ALL).intoArray(acc, NR + 3 * VL);
        Vec.ZERO.blend(c20, Vec.ALL).intoArray(acc, 2 * NR);
        Vec.ZERO.blend(c21, Vec.ALL).intoArray(acc, 2 * NR + VL);
        Vec.ZERO.blend(c22, Vec.ALL).intoArray(acc, 2 * NR + 2 * VL);
        Vec.ZERO.blend(c23, Vec.ALL).intoArray(acc, 2 * NR + 3 * VL);
        Vec.ZERO.blend(c30, Vec.ALL).intoArray(acc, 3 * NR);
        Vec.ZERO.blend(c31, Vec.ALL).intoArray(acc, 3 * NR + VL);
        Vec.ZERO.blend(c32, Vec.ALL).intoArray(acc, 3 * NR + 2 * VL);
        Vec.ZERO.blend(c33, Vec.ALL).intoArray(acc, 3 * NR + 3 * VL);
    }

    /** {@link #tile} for panels of {@link #NR_NARROW} columns: acc [MR][NR_NARROW]. */
    private static void tileNarrow(MemorySegment a, long a0, long a1, long a2, long a3, Runs runs, float[] bp, int pBase,
                             int biasIdx, float[] acc) {
        FloatVector c00 = FloatVector.fromArray(S, bp, biasIdx), c01 = FloatVector.fromArray(S, bp, biasIdx + VL);
        FloatVector c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
        long[] shift = runs.shift();
        int[] k0 = runs.k0(), len = runs.len();
        for (int r = 0; r < shift.length; r++) {
            long sh = shift[r];
            long x0 = (a0 + sh) << 2, x1 = (a1 + sh) << 2, x2 = (a2 + sh) << 2, x3 = (a3 + sh) << 2;
            int bi = pBase + k0[r] * NR_NARROW;
            int l = len[r];
            for (int kk = 0; kk < l; kk++, bi += NR_NARROW) {
                FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + VL);
                long o = (long) kk << 2;
                FloatVector v = FloatVector.broadcast(S, a.get(F, x0 + o));
                c00 = v.fma(b0, c00);
                c01 = v.fma(b1, c01);
                v = FloatVector.broadcast(S, a.get(F, x1 + o));
                c10 = v.fma(b0, c10);
                c11 = v.fma(b1, c11);
                v = FloatVector.broadcast(S, a.get(F, x2 + o));
                c20 = v.fma(b0, c20);
                c21 = v.fma(b1, c21);
                v = FloatVector.broadcast(S, a.get(F, x3 + o));
                c30 = v.fma(b0, c30);
                c31 = v.fma(b1, c31);
            }
        }
        Vec.ZERO.blend(c00, Vec.ALL).intoArray(acc, 0);
        Vec.ZERO.blend(c01, Vec.ALL).intoArray(acc, VL);
        Vec.ZERO.blend(c10, Vec.ALL).intoArray(acc, NR_NARROW);
        Vec.ZERO.blend(c11, Vec.ALL).intoArray(acc, NR_NARROW + VL);
        Vec.ZERO.blend(c20, Vec.ALL).intoArray(acc, 2 * NR_NARROW);
        Vec.ZERO.blend(c21, Vec.ALL).intoArray(acc, 2 * NR_NARROW + VL);
        Vec.ZERO.blend(c30, Vec.ALL).intoArray(acc, 3 * NR_NARROW);
        Vec.ZERO.blend(c31, Vec.ALL).intoArray(acc, 3 * NR_NARROW + VL);
    }

    /** C[row r][0, nr) = acc[r] for the MR rows of a full tile. */
    private static void storeFull(float[] acc, int nr, MemorySegment c, long cIdx, int n) {
        for (int r = 0; r < MR; r++, cIdx += n)
            for (int v = 0; v < nr; v += VL) FloatVector.fromArray(S, acc, r * nr + v).intoMemorySegment(c, (cIdx + v) << 2, NATIVE);
    }

    /** The rows and columns of acc that lie inside C, for a tile on the bottom or right edge. */
    private static void storeEdge(float[] acc, int nr, MemorySegment c, long cIdx, int n, int nrows, int ncols) {
        for (int r = 0; r < nrows; r++) MemorySegment.copy(acc, r * nr, c, F, (cIdx + (long) r * n) << 2, ncols);
    }
}
