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
 * inner loops run over a fixed NR columns of arrays, which C2 unrolls and vectorises by itself where it can.
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
            float[] acc = Scratch.floats(0, MR * NR);
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
                        tile(a, a0, a1, a2, a3, runs, bp, p * k * NR, biasBase + p * NR, acc);
                        long cIdx = (long) r0 * n + (long) p * NR;
                        int ncols = Math.min(NR, n - p * NR);
                        for (int r = 0; r < nrows; r++)
                            MemorySegment.copy(acc, r * NR, c, F, (cIdx + (long) r * n) << 2, ncols);
                    }
                }
            }
        });
    }

    /** acc [MR][NR] = bias + the four rows of A times one panel of B, over every run of K. */
    private static void tile(MemorySegment a, long a0, long a1, long a2, long a3, Runs runs, float[] bp, int pBase,
                             int biasIdx, float[] acc) {
        for (int r = 0; r < MR; r++) System.arraycopy(bp, biasIdx, acc, r * NR, NR);
        long[] shift = runs.shift();
        int[] k0 = runs.k0(), len = runs.len();
        for (int run = 0; run < shift.length; run++) {
            long sh = shift[run];
            int bi = pBase + k0[run] * NR;
            for (int kk = 0, l = len[run]; kk < l; kk++, bi += NR) {
                float v0 = Floats.get(a, a0 + sh + kk), v1 = Floats.get(a, a1 + sh + kk);
                float v2 = Floats.get(a, a2 + sh + kk), v3 = Floats.get(a, a3 + sh + kk);
                for (int j = 0; j < NR; j++) {
                    float bj = bp[bi + j];
                    acc[j] += v0 * bj;
                    acc[NR + j] += v1 * bj;
                    acc[2 * NR + j] += v2 * bj;
                    acc[3 * NR + j] += v3 * bj;
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
     * dW[K, N] += x[M, K]ᵀ · dY[M, N]. A work item owns a range of dW's rows (no two threads write one element) and
     * sweeps M in blocks of {@link #MB} rows copied into per-thread arrays; each element is summed over M in order.
     */
    static void accumulate(Gemm.PackRows x, MemorySegment dy, MemorySegment dw, int m, int k, int n) {
        int items = Math.min(k, 4 * Parallel.THREADS);
        Parallel.forRange(items, 1, (lo, hi) -> {
            int k0 = (int) ((long) k * lo / items), k1 = (int) ((long) k * hi / items);
            float[] xb = Scratch.floats(0, MB * k), yb = Scratch.floats(1, MB * n), row = Scratch.floats(2, n);
            for (int m0 = 0; m0 < m; m0 += MB) {
                int rows = Math.min(MB, m - m0);
                x.pack(m0, rows, xb, k);
                MemorySegment.copy(dy, F, ((long) m0 * n) << 2, yb, 0, rows * n);
                for (int kk = k0; kk < k1; kk++) {
                    MemorySegment.copy(dw, F, ((long) kk * n) << 2, row, 0, n);
                    for (int r = 0; r < rows; r++) {
                        float xv = xb[r * k + kk];
                        for (int j = 0, yi = r * n; j < n; j++) row[j] += xv * yb[yi + j];
                    }
                    MemorySegment.copy(row, 0, dw, F, ((long) kk * n) << 2, n);
                }
            }
        });
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
