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
        Floats.gatherRows(src, base, n, c, col, hs, dst, hs, at);
    }

    /** Σ a[ai + i]·b[bi + i] over i &lt; n, in four interleaved partial sums: four chains of additions, not one. */
    private static float dot(float[] a, int ai, float[] b, int bi, int n) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += a[ai + i] * b[bi + i];
            s1 += a[ai + i + 1] * b[bi + i + 1];
            s2 += a[ai + i + 2] * b[bi + i + 2];
            s3 += a[ai + i + 3] * b[bi + i + 3];
        }
        for (; i < n; i++) s0 += a[ai + i] * b[bi + i];
        return (s0 + s1) + (s2 + s3);
    }

    /**
     * Forward, as {@link AttentionKernel#run}: out rows [q0, q1) of the head = softmax(scale·q·Kᵀ)·V, four query rows
     * at a time. Keys are held transposed ([headSize][keys]) and values as rows; every inner loop reads one copied row
     * and updates four arrays at the same index from 0 (the form C2 vectorises; a dot product per key is one chain of
     * dependent additions, several times slower).
     */
    static void forward(MemorySegment qs, long qBase, int q0, int q1, MemorySegment ks, MemorySegment vs, long key0,
                        long key1, int lk, int keys, int c, int col, int hs, float scale, boolean causal,
                        MemorySegment os) {
        float[] kt = Scratch.floats(0, hs * keys), vb = Scratch.floats(1, keys * hs);
        float[] s0 = Scratch.floats(2, keys), s1 = Scratch.floats(3, keys), s2 = Scratch.floats(4, keys);
        float[] s3 = Scratch.floats(5, keys), krow = Scratch.floats(6, keys), vrow = Scratch.floats(7, hs);
        float[] o0 = Scratch.floats(8, hs), o1 = Scratch.floats(9, hs), o2 = Scratch.floats(10, hs), o3 = Scratch.floats(11, hs);
        float[][] sc = {s0, s1, s2, s3}, o = {o0, o1, o2, o3};
        transposed(ks, key0, lk, c, col, hs, kt, keys, 0);
        gather(vs, key0, lk, c, col, hs, vb, 0);
        if (key1 >= 0) {
            transposed(ks, key1, lk, c, col, hs, kt, keys, lk);
            gather(vs, key1, lk, c, col, hs, vb, lk);
        }
        for (int qi = q0; qi < q1; qi += 4) {
            int nq = Math.min(4, q1 - qi), jEnd = causal ? Math.min(keys, qi + nq) : keys;
            long row = qBase + (long) qi * c + col;
            for (int r = 0; r < 4; r++) java.util.Arrays.fill(sc[r], 0, jEnd, 0f);
            for (int i = 0; i < hs; i++) {  // scores: rows past nq read row qi again, computed and never stored
                float a0 = Floats.get(qs, row + i) * scale;
                float a1 = nq > 1 ? Floats.get(qs, row + c + i) * scale : a0;
                float a2 = nq > 2 ? Floats.get(qs, row + 2L * c + i) * scale : a0;
                float a3 = nq > 3 ? Floats.get(qs, row + 3L * c + i) * scale : a0;
                System.arraycopy(kt, i * keys, krow, 0, jEnd);
                for (int j = 0; j < jEnd; j++) {
                    float k = krow[j];
                    s0[j] += a0 * k;
                    s1[j] += a1 * k;
                    s2[j] += a2 * k;
                    s3[j] += a3 * k;
                }
            }
            float i0 = softmax(s0, causal ? Math.min(keys, qi + 1) : keys, jEnd);
            float i1 = softmax(s1, causal ? Math.min(keys, qi + 2) : keys, jEnd);
            float i2 = softmax(s2, causal ? Math.min(keys, qi + 3) : keys, jEnd);
            float i3 = softmax(s3, causal ? Math.min(keys, qi + 4) : keys, jEnd);
            for (int r = 0; r < 4; r++) java.util.Arrays.fill(o[r], 0, hs, 0f);
            for (int j = 0; j < jEnd; j++) {
                float p0 = s0[j], p1 = s1[j], p2 = s2[j], p3 = s3[j];
                System.arraycopy(vb, j * hs, vrow, 0, hs);
                for (int i = 0; i < hs; i++) {
                    float v = vrow[i];
                    o0[i] += p0 * v;
                    o1[i] += p1 * v;
                    o2[i] += p2 * v;
                    o3[i] += p3 * v;
                }
            }
            for (int r = 0; r < nq; r++) {
                float inv = r == 0 ? i0 : r == 1 ? i1 : r == 2 ? i2 : i3;
                for (int i = 0; i < hs; i++) Floats.set(os, row + (long) r * c + i, o[r][i] * inv);
            }
        }
    }

    /** s[0, limit) ← exp(s − max), s[limit, jEnd) ← 0; returns 1 / Σ. */
    private static float softmax(float[] s, int limit, int jEnd) {
        limit = Math.min(limit, jEnd);  // a row past the block's last (computed, never stored) may see fewer keys
        float max = Float.NEGATIVE_INFINITY, sum = 0f;
        for (int j = 0; j < limit; j++) max = Math.max(max, s[j]);
        for (int j = 0; j < limit; j++) sum += s[j] = ScalarMath.exp(s[j] - max);
        java.util.Arrays.fill(s, limit, jEnd, 0f);
        return 1f / sum;
    }

    /** dst[i·ld + at + j] = src[base + j·c + col + i] for j &lt; n, i &lt; hs: keys along rows. */
    private static void transposed(MemorySegment src, long base, int n, int c, int col, int hs, float[] dst, int ld,
                                   int at) {
        for (int j = 0; j < n; j++) {
            long r = base + (long) j * c + col;
            for (int i = 0; i < hs; i++) dst[i * ld + at + j] = Floats.get(src, r + i);
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
