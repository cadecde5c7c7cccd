package dev.tav4j.kernels.cpu;

import java.lang.foreign.MemorySegment;

/**
 * The scalar twins of {@link AttentionKernel}, {@link CpuAttentionGradQuery} and {@link CpuAttentionGradKey}: one
 * work item each, the same arguments and results. The head's keys and values are copied row by row into per-thread
 * arrays [keys][headSize]; each query row gets its score row, the softmax with max subtraction, and the weighted sums.
 */
final class ScalarAttention {
    private ScalarAttention() {}

    /** dst[(at + j)·hs + i] = src[base + j·c + col + i] for j &lt; n, i &lt; hs. */
    private static void gather(MemorySegment src, long base, int n, int c, int col, int hs, float[] dst, int at) {
        for (int j = 0; j < n; j++) MemorySegment.copy(src, Floats.F, (base + (long) j * c + col) << 2, dst, (at + j) * hs, hs);
    }

    private static float dot(float[] a, int ai, float[] b, int bi, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) s += a[ai + i] * b[bi + i];
        return s;
    }

    /** Forward, as {@link AttentionKernel#run}: out rows [q0, q1) of the head = softmax(scale·q·Kᵀ)·V. */
    static void forward(MemorySegment qs, long qBase, int q0, int q1, MemorySegment ks, MemorySegment vs, long key0,
                        long key1, int lk, int keys, int c, int col, int hs, float scale, boolean causal,
                        MemorySegment os) {
        float[] kb = Scratch.floats(0, keys * hs), vb = Scratch.floats(1, keys * hs);
        float[] sc = Scratch.floats(2, keys), qr = Scratch.floats(3, hs), o = Scratch.floats(4, hs);
        keysAndValues(ks, vs, key0, key1, lk, c, col, hs, kb, vb);
        for (int qi = q0; qi < q1; qi++) {
            long row = qBase + (long) qi * c + col;
            for (int i = 0; i < hs; i++) qr[i] = Floats.get(qs, row + i) * scale;
            int end = causal ? Math.min(keys, qi + 1) : keys;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < end; j++) max = Math.max(max, sc[j] = dot(qr, 0, kb, j * hs, hs));
            float sum = 0f;
            java.util.Arrays.fill(o, 0, hs, 0f);
            for (int j = 0; j < end; j++) {
                float p = ScalarMath.exp(sc[j] - max);
                sum += p;
                for (int i = 0, vi = j * hs; i < hs; i++) o[i] += p * vb[vi + i];
            }
            float inv = 1f / sum;
            for (int i = 0; i < hs; i++) Floats.set(os, row + i, o[i] * inv);
        }
    }

    private static void keysAndValues(MemorySegment ks, MemorySegment vs, long key0, long key1, int lk, int c, int col,
                                      int hs, float[] kb, float[] vb) {
        gather(ks, key0, lk, c, col, hs, kb, 0);
        gather(vs, key0, lk, c, col, hs, vb, 0);
        if (key1 >= 0) {
            gather(ks, key1, lk, c, col, hs, kb, lk);
            gather(vs, key1, lk, c, col, hs, vb, lk);
        }
    }

    /**
     * The query side of the backward, as {@link CpuAttentionGradQuery#run}: dQ rows [q0, q1) = scale·dS·K with
     * dS = P ⊙ (dP − D), and each row's log-sum-exp and D = Σ P·dP into lse, dd at stat + row.
     */
    static void query(MemorySegment qs, MemorySegment dos, MemorySegment dqs, long qBase, int q0, int q1,
                      MemorySegment ks, MemorySegment vs, long key0, long key1, int lk, int keys, int c, int col, int hs,
                      float scale, boolean causal, float[] lse, float[] dd, int stat) {
        float[] kb = Scratch.floats(0, keys * hs), vb = Scratch.floats(1, keys * hs);
        float[] sc = Scratch.floats(2, keys), dp = Scratch.floats(3, keys);
        float[] qr = Scratch.floats(4, hs), or = Scratch.floats(5, hs), dq = Scratch.floats(6, hs);
        keysAndValues(ks, vs, key0, key1, lk, c, col, hs, kb, vb);
        for (int qi = q0; qi < q1; qi++) {
            long row = qBase + (long) qi * c + col;
            for (int i = 0; i < hs; i++) {
                qr[i] = Floats.get(qs, row + i) * scale;
                or[i] = Floats.get(dos, row + i);
            }
            int end = causal ? Math.min(keys, qi + 1) : keys;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < end; j++) {
                max = Math.max(max, sc[j] = dot(qr, 0, kb, j * hs, hs));
                dp[j] = dot(or, 0, vb, j * hs, hs);
            }
            float total = 0f, esum = 0f;
            for (int j = 0; j < end; j++) {
                float e = ScalarMath.exp(sc[j] - max);
                sc[j] = e;
                total += e;
                esum += e * dp[j];
            }
            float inv = 1f / total, d = esum * inv;
            java.util.Arrays.fill(dq, 0, hs, 0f);
            for (int j = 0; j < end; j++) {
                float ds = sc[j] * inv * (dp[j] - d);
                for (int i = 0, ki = j * hs; i < hs; i++) dq[i] += ds * kb[ki + i];
            }
            for (int i = 0; i < hs; i++) Floats.set(dqs, row + i, dq[i] * scale);
            lse[stat + qi] = max + (float) Math.log(total);
            dd[stat + qi] = d;
        }
    }

    /**
     * The key side of the backward, as {@link CpuAttentionGradKey#run}: dK and dV of keys [j0, j1) of one key image,
     * over every query image that read them: P = exp(scale·q·k − lse), dS = P ⊙ (dO·v − D), dV = Σ P·dO,
     * dK = Σ dS·scale·q.
     */
    static void key(MemorySegment qs, MemorySegment dos, MemorySegment ks, MemorySegment vs, MemorySegment dks,
                    MemorySegment dvs, long keyBase, int j0, int j1, long[] readers, int[] statRows, int nReaders,
                    int lq, int c, int col, int hs, float scale, boolean causal, float[] lse, float[] dd) {
        int kc = j1 - j0;
        float[] kb = Scratch.floats(0, kc * hs), vb = Scratch.floats(1, kc * hs);
        float[] dk = Scratch.floats(2, kc * hs), dv = Scratch.floats(3, kc * hs);
        float[] qr = Scratch.floats(4, hs), or = Scratch.floats(5, hs);
        long chunkBase = keyBase + (long) j0 * c;
        gather(ks, chunkBase, kc, c, col, hs, kb, 0);
        gather(vs, chunkBase, kc, c, col, hs, vb, 0);
        java.util.Arrays.fill(dk, 0, kc * hs, 0f);
        java.util.Arrays.fill(dv, 0, kc * hs, 0f);
        int first = causal ? j0 : 0; // a causal query row i sees keys 0..i
        for (int rd = 0; rd < nReaders; rd++) {
            long qBase = readers[rd];
            int stat = statRows[rd];
            for (int qi = first; qi < lq; qi++) {
                long row = qBase + (long) qi * c + col;
                for (int i = 0; i < hs; i++) {
                    qr[i] = Floats.get(qs, row + i) * scale;
                    or[i] = Floats.get(dos, row + i);
                }
                float l = lse[stat + qi], d = dd[stat + qi];
                int valid = causal ? Math.min(kc, qi - j0 + 1) : kc;
                for (int j = 0; j < valid; j++) {
                    int at = j * hs;
                    float p = ScalarMath.exp(dot(qr, 0, kb, at, hs) - l);
                    float ds = p * (dot(or, 0, vb, at, hs) - d);
                    for (int i = 0; i < hs; i++) {
                        dv[at + i] += p * or[i];
                        dk[at + i] += ds * qr[i];
                    }
                }
            }
        }
        for (int j = 0; j < kc; j++) {
            long row = (chunkBase + (long) j * c + col) << 2;
            if (dks != null) MemorySegment.copy(dk, j * hs, dks, Floats.F, row, hs);
            if (dvs != null) MemorySegment.copy(dv, j * hs, dvs, Floats.F, row, hs);
        }
    }
}
