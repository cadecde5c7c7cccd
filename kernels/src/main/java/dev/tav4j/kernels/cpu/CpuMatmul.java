package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Tensor;
import java.util.Arrays;

/** Argument checks of matmul around {@link Gemm}: a [..., K] · w [K, N] (+ bias [N]) → out [..., N]. */
final class CpuMatmul {
    private CpuMatmul() {}

    static void run(Tensor a, Tensor w, Tensor bias, Tensor out, boolean vector) {
        String op = "matmul";
        Check.host(op, "a", a);
        Check.rank(op, "w", w, 2);
        Check.host(op, "out", out);
        int k = w.dim(0), n = w.dim(1);
        Check.that(a.rank() >= 1 && a.dim(-1) == k,
                op + ": a " + Arrays.toString(a.shape()) + " must end in K = " + k + " (w is [K, N] = " + Arrays.toString(w.shape()) + ")");
        int[] expect = a.shape();
        expect[expect.length - 1] = n;
        Check.shape(op, "out", out, expect);
        if (bias != null) Check.shape(op, "bias", bias, n);
        Check.that(!Check.sameBytes(a, out), op + ": out must not alias a");
        long m = a.size() / Math.max(1, k);
        if (k == 0) { out.fill(0f); if (bias != null) for (long r = 0; r < m; r++) for (int j = 0; j < n; j++) out.set(r * n + j, bias.get(j)); return; }
        Gemm.matmul(vector, a.segment(), w.segment(), bias == null ? null : bias.segment(), out.segment(), Math.toIntExact(m), k, n);
    }
}
