package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Floats.F;

import dev.tav4j.kernels.cpu.Gemm.Rows;
import dev.tav4j.kernels.cpu.Gemm.Runs;
import dev.tav4j.runtime.Parallel;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The scalar twins of {@link CpuGemm} and {@link CpuMatmulGradWeight}, for a JVM without jdk.incubator.vector: the
 * same blocking (B packed into zero-padded panels, MR-row tiles, the same parallel split) with plain loops. The
 * inner loops read and write separate arrays at the same index j from 0 (one accumulator array per row, the row of B
 * copied out first): a form C2's auto-vectoriser takes, about twice as fast as rows at offsets in one array.
 */
final class ScalarGemm {
    static final int MR = 4;
    static final int NR = 64;
    /** Rows of x and dY per block of the weight gradient. */
    static final int MB = 256;
    private static final int B_BLOCK_BYTES = 256 * 1024;
    private static final ThreadLocal<float[][]> PACK = ThreadLocal.withInitial(() -> new float[1][0]);

    private ScalarGemm() {}

    static void gemm(MemorySegment a, Rows rows, Runs runs, int m, int k, MemorySegment b, MemorySegment bias, int n,
                     MemorySegment c) {
        if (m == 0 || n == 0) return;
        int panels = ceilDiv(n, NR);
        float[] bp = packB(b, bias, k, n, panels);
        int biasBase = panels * k * NR;
        int rowGroups = ceilDiv(m, MR);
        int ppg = Math.max(1, Math.min(panels, B_BLOCK_BYTES / Math.max(1, k * NR * 4)));
        int gpb = 16;
        int target = 4 * Parallel.THREADS;
        while (gpb > 1 && ceilDiv(rowGroups, gpb) * ceilDiv(panels, ppg) < target) gpb >>= 1;
        while (ppg > 1 && ceilDiv(rowGroups, gpb) * ceilDiv(panels, ppg) < target) ppg = (ppg + 1) >> 1;
        int fgpb = gpb, fppg = ppg, pgs = ceilDiv(panels, ppg);
        int items = ceilDiv(rowGroups, gpb) * pgs;
        Parallel.forRange(items, 1, (lo, hi) -> {
            float[] c0 = Scratch.floats(0, NR), c1 = Scratch.floats(1, NR), c2 = Scratch.floats(2, NR);
            float[] c3 = Scratch.floats(3, NR), row = Scratch.floats(4, NR);
            for (int item = lo; item < hi; item++) {
                int g0 = item / pgs * fgpb, g1 = Math.min(rowGroups, g0 + fgpb);
                int p0 = item % pgs * fppg, p1 = Math.min(panels, p0 + fppg);
                for (int g = g0; g < g1; g++) {
                    int r0 = g * MR, nrows = Math.min(MR, m - r0);
                    long a0 = rows.offset(r0);  // rows past M repeat row 0, computed and never stored
                    long a1 = nrows > 1 ? rows.offset(r0 + 1) : a0;
                    long a2 = nrows > 2 ? rows.offset(r0 + 2) : a0;
                    long a3 = nrows > 3 ? rows.offset(r0 + 3) : a0;
                    for (int p = p0; p < p1; p++) {
                        tile(a, a0, a1, a2, a3, runs, bp, p * k * NR, biasBase + p * NR, c0, c1, c2, c3, row);
                        long cIdx = (long) r0 * n + (long) p * NR;
                        int ncols = Math.min(NR, n - p * NR);
                        for (int r = 0; r < nrows; r++)
                            MemorySegment.copy(r == 0 ? c0 : r == 1 ? c1 : r == 2 ? c2 : c3, 0, c, F,
                                    (cIdx + (long) r * n) << 2, ncols);
                    }
                }
            }
        });
    }

    /** c0..c3 [NR] = bias + the four rows of A times one panel of B, over every run of K; row is room for B's rows. */
    private static void tile(MemorySegment a, long a0, long a1, long a2, long a3, Runs runs, float[] bp, int pBase,
                             int biasIdx, float[] c0, float[] c1, float[] c2, float[] c3, float[] row) {
        System.arraycopy(bp, biasIdx, c0, 0, NR);
        System.arraycopy(bp, biasIdx, c1, 0, NR);
        System.arraycopy(bp, biasIdx, c2, 0, NR);
        System.arraycopy(bp, biasIdx, c3, 0, NR);
        long[] shift = runs.shift();
        int[] k0 = runs.k0(), len = runs.len();
        for (int run = 0; run < shift.length; run++) {
            long sh = shift[run];
            int bi = pBase + k0[run] * NR;
            for (int kk = 0, l = len[run]; kk < l; kk++, bi += NR) {
                float v0 = Floats.get(a, a0 + sh + kk), v1 = Floats.get(a, a1 + sh + kk);
                float v2 = Floats.get(a, a2 + sh + kk), v3 = Floats.get(a, a3 + sh + kk);
                System.arraycopy(bp, bi, row, 0, NR);
                for (int j = 0; j < NR; j++) {
                    float bj = row[j];
                    c0[j] += v0 * bj;
                    c1[j] += v1 * bj;
                    c2[j] += v2 * bj;
                    c3[j] += v3 * bj;
                }
            }
        }
    }

    /** B into panels [panel][k][NR], zero past N, then the bias padded to panels·NR (as {@link CpuGemm} packs it). */
    private static float[] packB(MemorySegment b, MemorySegment bias, int k, int n, int panels) {
        int need = panels * k * NR + panels * NR;
        float[][] holder = PACK.get();
        if (holder[0].length < need) holder[0] = new float[need];
        float[] bp = holder[0];
        Parallel.forRange(panels, Math.max(1, 4096 / Math.max(1, k)), (lo, hi) -> {
            for (int p = lo; p < hi; p++) {
                int col = p * NR, ncols = Math.min(NR, n - col), dst = p * k * NR;
                for (int kk = 0; kk < k; kk++, dst += NR) {
                    MemorySegment.copy(b, F, ((long) kk * n + col) << 2, bp, dst, ncols);
                    if (ncols < NR) Arrays.fill(bp, dst + ncols, dst + NR, 0f);
                }
            }
        });
        int biasBase = panels * k * NR;
        for (int j = 0; j < panels * NR; j++) bp[biasBase + j] = bias != null && j < n ? Floats.get(bias, j) : 0f;
        return bp;
    }

    /**
     * dW[K, N] += x[M, K]ᵀ · dY[M, N]. A work item owns groups of {@link #MR} rows of dW (no two threads write one
     * element) and sweeps M in blocks of {@link #MB} rows of x copied into a per-thread array; each element is summed
     * over M in order. The four rows of a group live in four arrays and each row of dY is copied out once per group,
     * so the inner loop has the form of {@link #tile}'s.
     */
    static void accumulate(Gemm.PackRows x, MemorySegment dy, MemorySegment dw, int m, int k, int n) {
        int groups = (k + MR - 1) / MR;
        Parallel.forRange(groups, 1, (lo, hi) -> {
            float[] xb = Scratch.floats(0, MB * k), yrow = Scratch.floats(1, n);
            float[] w0 = Scratch.floats(2, n), w1 = Scratch.floats(3, n), w2 = Scratch.floats(4, n), w3 = Scratch.floats(5, n);
            float[][] w = {w0, w1, w2, w3};
            for (int m0 = 0; m0 < m; m0 += MB) {
                int rows = Math.min(MB, m - m0);
                x.pack(m0, rows, xb, k);
                for (int g = lo; g < hi; g++) {
                    int k0 = g * MR, nk = Math.min(MR, k - k0);
                    for (int i = 0; i < MR; i++)
                        if (i < nk) MemorySegment.copy(dw, F, ((long) (k0 + i) * n) << 2, w[i], 0, n);
                    for (int r = 0; r < rows; r++) {
                        int xi = r * k + k0;
                        float x0 = xb[xi], x1 = nk > 1 ? xb[xi + 1] : 0f, x2 = nk > 2 ? xb[xi + 2] : 0f, x3 = nk > 3 ? xb[xi + 3] : 0f;
                        MemorySegment.copy(dy, F, ((long) (m0 + r) * n) << 2, yrow, 0, n);
                        for (int j = 0; j < n; j++) {
                            float y = yrow[j];
                            w0[j] += x0 * y;
                            w1[j] += x1 * y;
                            w2[j] += x2 * y;
                            w3[j] += x3 * y;
                        }
                    }
                    for (int i = 0; i < nk; i++) MemorySegment.copy(w[i], 0, dw, F, ((long) (k0 + i) * n) << 2, n);
                }
            }
        });
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
