package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Backward of matmul: dX = dY · wᵀ through the forward GEMM with w transposed once per call; dW += xᵀ · dY
 * in {@link CpuMatmulGradWeight}; dBias sums rows per fixed block and reduces the blocks in order.
 */
final class CpuMatmulGrad {
    /** Rows per partial sum of the bias gradient (fixed, so results do not depend on the thread count). */
    private static final int BIAS_BLOCK = 256;

    private CpuMatmulGrad() {}

    static void backwardInput(CpuOps fwd, Tensor dY, Tensor w, Tensor dX) {
        String op = "matmulBackwardInput";
        Check.rank(op, "w", w, 2);
        Check.host(op, "dY", dY);
        Check.host(op, "dX", dX);
        int k = w.dim(0), n = w.dim(1);
        Check.that(dY.rank() >= 1 && dY.dim(-1) == n, op + ": dY " + Arrays.toString(dY.shape()) + " must end in N = " + n
                + " (w is [K, N] = " + Arrays.toString(w.shape()) + ")");
        int[] expect = dY.shape();
        expect[expect.length - 1] = k;
        Check.shape(op, "dX", dX, expect);
        Check.that(!Check.sameBytes(dX, dY) && !Check.sameBytes(dX, w), op + ": dX must not alias dY or w");
        if (dX.size() == 0) return;
        int m = CpuGradSupport.rows(dX.size(), k, op);
        try (Tensor wt = Tensor.host(n, k)) {
            CpuGradSupport.transpose(w.segment(), 0, n, k, n, wt.segment(), 0, k);
            fwd.matmul(dY.reshape(m, n), wt, null, dX.reshape(m, k));
        }
    }

    static void backwardWeight(boolean vector, Tensor x, Tensor dY, Tensor dW, Tensor dBias) {
        String op = "matmulBackwardWeight";
        Check.rank(op, "dW", dW, 2);
        Check.host(op, "x", x);
        Check.host(op, "dY", dY);
        int k = dW.dim(0), n = dW.dim(1);
        Check.that(x.rank() >= 1 && x.dim(-1) == k, op + ": x " + Arrays.toString(x.shape()) + " must end in K = " + k
                + " (dW is [K, N] = " + Arrays.toString(dW.shape()) + ")");
        int[] expect = x.shape();
        expect[expect.length - 1] = n;
        Check.shape(op, "dY", dY, expect);
        if (dBias != null) Check.shape(op, "dBias", dBias, n);
        Check.that(!Check.sameBytes(dW, x) && !Check.sameBytes(dW, dY), op + ": dW must not alias x or dY");
        if (n == 0) return;
        int m = CpuGradSupport.rows(dY.size(), n, op);
        if (m == 0) return;
        if (dBias != null) biasGrad(vector, dY.segment(), m, n, dBias.segment());
        if (k == 0) return;
        Gemm.accumulateWeight(vector, x.segment(), dY.segment(), dW.segment(), m, k, n);
    }

    /** dBias[j] += Σ_rows dY[row, j]: float sums per block of rows, blocks added in order in double. */
    static void biasGrad(boolean vector, MemorySegment dy, int m, int n, MemorySegment db) {
        int blocks = (m + BIAS_BLOCK - 1) / BIAS_BLOCK;
        int np = Floats.roundUp(n, Floats.lanes(vector));
        float[] part = Workspace.floats(0, blocks * np); // every column < n of every block is written below
        Parallel.forRange(blocks, 1, (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                int r0 = b * BIAS_BLOCK, r1 = Math.min(m, (b + 1) * BIAS_BLOCK);
                if (vector) VecLoops.columnSums(dy, r0, r1, n, part, b * np);
                else ScalarLoops.columnSums(dy, r0, r1, n, part, b * np);
            }
        });
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int b = 0; b < blocks; b++) s += part[b * np + j];
            Floats.set(db, j, (float) (Floats.get(db, j) + s));
        }
    }
}
