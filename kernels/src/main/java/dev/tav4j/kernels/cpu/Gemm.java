package dev.tav4j.kernels.cpu;

import java.lang.foreign.MemorySegment;

/**
 * The GEMMs every CPU op runs on, vector ({@link CpuGemm}, {@link CpuMatmulGradWeight}) or scalar ({@link
 * ScalarGemm}): how A's rows are found and K is cut, and the choice between the two, made once per call.
 */
final class Gemm {
    private Gemm() {}

    /** Float index in A where row m starts. */
    @FunctionalInterface
    interface Rows {
        long offset(int m);
    }

    /** K as runs: run r reads A at rowStart + shift[r] + kk and B row k0[r] + kk, for kk in [0, len[r]). */
    record Runs(long[] shift, int[] k0, int[] len) {
        static Runs whole(int k) {
            return new Runs(new long[] {0}, new int[] {0}, new int[] {k});
        }
    }

    /** Copies rows [m0, m0 + rows) of the left operand x [M, K] into xb, row r at xb[r·kp] (kp ≥ K). */
    @FunctionalInterface
    interface PackRows {
        void pack(int m0, int rows, float[] xb, int kp);
    }

    /** C[M, N] = A · B (+ bias), A plain row-major [M, K] from float index 0. */
    static void matmul(boolean vector, MemorySegment a, MemorySegment b, MemorySegment bias, MemorySegment c, int m,
                       int k, int n) {
        gemm(vector, a, row -> (long) row * k, Runs.whole(k), m, k, b, bias, n, c);
    }

    /** C[M, N] = A · B (+ bias) with A's rows where {@code rows} says and K cut into {@code runs}. */
    static void gemm(boolean vector, MemorySegment a, Rows rows, Runs runs, int m, int k, MemorySegment b,
                     MemorySegment bias, int n, MemorySegment c) {
        if (vector) CpuGemm.gemm(a, rows, runs, m, k, b, bias, n, c);
        else ScalarGemm.gemm(a, rows, runs, m, k, b, bias, n, c);
    }

    /** dW[K, N] += x[M, K]ᵀ · dY[M, N], x plain row-major. */
    static void accumulateWeight(boolean vector, MemorySegment x, MemorySegment dy, MemorySegment dw, int m, int k,
                                 int n) {
        accumulateWeight(vector, (m0, rows, xb, kp) -> {
            for (int r = 0; r < rows; r++) MemorySegment.copy(x, Floats.F, ((long) (m0 + r) * k) << 2, xb, r * kp, k);
        }, dy, dw, m, k, n);
    }

    /** The same with the rows of x made by {@code x} (a gathered matrix never stored whole: conv patches). */
    static void accumulateWeight(boolean vector, PackRows x, MemorySegment dy, MemorySegment dw, int m, int k, int n) {
        if (vector) CpuMatmulGradWeight.accumulate(x, dy, dw, m, k, n);
        else ScalarGemm.accumulate(x, dy, dw, m, k, n);
    }
}
