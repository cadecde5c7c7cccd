package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Fused multi-head attention. Work items are (image, head, query range); each item gathers its keys and values
 * (one or two key images, read in place from k and v) transposed into per-thread buffers and runs
 * {@link AttentionKernel} over blocks of queries, or {@link QueryLaneAttention} where the keys are few (cross-attention's
 * text) and not causal. Temporal attention goes to {@link TemporalLaneAttention} ({@link TemporalAttention} without
 * the Vector API).
 */
final class CpuAttention {
    private CpuAttention() {}

    static void run(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k, Tensor v, Tensor out,
                    boolean vector) {
        String op = "attention(" + kind + ")";
        if (kind == null) throw new IllegalArgumentException("attention: kind is null");
        Check.rank(op, "q", q, 3);
        Check.rank(op, "k", k, 3);
        Check.rank(op, "v", v, 3);
        Check.host(op, "out", out);
        Check.sameShape(op, "q", q, "out", out);
        Check.sameShape(op, "k", k, "v", v);
        int n = q.dim(0), lq = q.dim(1), c = q.dim(2), lk = k.dim(1);
        Check.that(heads > 0 && c % heads == 0, op + ": heads " + heads + " must divide the " + c + " channels of q");
        Check.that(k.dim(2) == c, op + ": k " + k + " must have the " + c + " channels of q");
        Check.that(!Check.sameBytes(q, out) && !Check.sameBytes(k, out) && !Check.sameBytes(v, out),
                op + ": out must not alias q, k or v");
        boolean framed = kind == AttentionKind.SPARSE_CAUSAL || kind == AttentionKind.CROSS || kind == AttentionKind.TEMPORAL;
        if (framed) Check.that(frames > 0 && n % frames == 0, op + ": frames " + frames + " must divide N = " + n);
        switch (kind) {
            case SELF, SPARSE_CAUSAL -> Check.that(k.dim(0) == n, op + ": k " + k + " must have the N = " + n + " images of q");
            case CAUSAL -> Check.that(k.dim(0) == n && lk == lq, op + ": k " + k + " must have the shape of q " + q);
            case CROSS -> Check.that(k.dim(0) == n / frames, op + ": k " + k + " must have N / frames = " + n / frames + " rows");
            case TEMPORAL -> Check.sameShape(op, "q", q, "k", k);
        }
        if (n == 0 || lq == 0) return;
        Check.that(lk > 0, op + ": k has no tokens");
        if (kind == AttentionKind.TEMPORAL) {
            if (vector) TemporalLaneAttention.run(frames, heads, scale, q, k, v, out);
            else TemporalAttention.run(frames, heads, scale, q, k, v, out);
            return;
        }
        int hs = c / heads;
        int perImage = n * heads;
        int qChunks = Math.max(1, Math.min((lq + 31) / 32, (4 * Parallel.THREADS + perImage - 1) / perImage));
        MemorySegment qs = q.segment(), ks = k.segment(), vs = v.segment(), os = out.segment();
        long imageK = (long) lk * c;
        Parallel.forRange(perImage * qChunks, 1, (lo, hi) -> {
            for (int item = lo; item < hi; item++) {
                int img = item / (heads * qChunks), h = item / qChunks % heads, chunk = item % qChunks;
                int q0 = (int) ((long) lq * chunk / qChunks), q1 = (int) ((long) lq * (chunk + 1) / qChunks);
                long key0 = AttentionKeys.first(kind, img, frames) * imageK;
                int second = AttentionKeys.second(kind, img, frames);
                long key1 = second < 0 ? -1 : second * imageK;
                int keys = second < 0 ? lk : 2 * lk;
                boolean causal = kind == AttentionKind.CAUSAL;
                if (vector && !causal && keys <= QueryLaneAttention.MAX_KEYS)
                    QueryLaneAttention.run(qs, (long) img * lq * c, q0, q1, ks, vs, key0, key1, lk, keys, c, h * hs, hs, scale, os);
                else if (vector) AttentionKernel.run(qs, (long) img * lq * c, q0, q1, ks, vs, key0, key1, lk, keys, c, h * hs,
                        hs, scale, causal, os);
                else ScalarAttention.forward(qs, (long) img * lq * c, q0, q1, ks, vs, key0, key1, lk, keys, c, h * hs, hs,
                        scale, causal, os);
            }
        });
    }
}
