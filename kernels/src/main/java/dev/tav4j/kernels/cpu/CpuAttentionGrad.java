package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Attention backward in two race-free phases (FlashAttention-2's recomputation, scores never stored whole).
 * Query phase, items (image, head, query range): dQ, and each query row's log-sum-exp and D = dO·O.
 * Key phase, items (key image, head, key range): dK and dV of those keys, summed over every query image that
 * read them, so the frame-0 keys of sparse-causal attention (read by all frames) and the text of cross
 * attention (read by every frame) are owned by one item per range. Temporal attention goes to
 * {@link TemporalLaneAttentionGrad} ({@link CpuTemporalAttentionGrad} without the Vector API).
 */
final class CpuAttentionGrad {
    /**
     * Keys per key-phase work item: 128 at 8 channels per head, 64 (as before) from 16 on, so that the item's four
     * transposed buffers stay near 1 K floats each. Every item reloads its query and dO rows, which at 64 keys per
     * item cost 0.10 ns per score at the anchor's top level; at 128, 0.05, and the rank-4 updates of dK and dV still
     * run in L1 (at 256 they slowed down by more than the rows saved). One core, AMD EPYC Zen 5, 2026-12-03. The
     * results do not depend on it (each key sums its readers' rows in the same order).
     */
    static int keyChunk(int hs) {
        return Math.max(64, Math.min(128, Integer.highestOneBit(1024 / hs)));
    }

    private CpuAttentionGrad() {}

    static void run(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k, Tensor v, Tensor dOut,
                    Tensor dQ, Tensor dK, Tensor dV, boolean vector) {
        if (kind == null) throw new IllegalArgumentException("attentionBackward: kind is null");
        String op = "attentionBackward(" + kind + ")";
        check(op, kind, frames, heads, q, k, v, dOut, dQ, dK, dV);
        int n = q.dim(0), lq = q.dim(1), c = q.dim(2), lk = k.dim(1);
        if (n == 0 || lq == 0) {
            if (dK != null) dK.fill(0f);
            if (dV != null) dV.fill(0f);
            return;
        }
        if (kind == AttentionKind.TEMPORAL) {
            if (vector) TemporalLaneAttentionGrad.run(frames, heads, scale, q, k, v, dOut, dQ, dK, dV);
            else CpuTemporalAttentionGrad.run(frames, heads, scale, q, k, v, dOut, dQ, dK, dV);
            return;
        }
        int hs = c / heads;
        boolean causal = kind == AttentionKind.CAUSAL;
        // per row of q and head: log-sum-exp and D, all written by the query phase before the key phase reads them
        float[] lse = Workspace.floats(0, n * heads * lq), dd = Workspace.floats(1, n * heads * lq);
        MemorySegment qs = q.segment(), ks = k.segment(), vs = v.segment(), dos = dOut.segment(), dqs = dQ.segment();
        long imageQ = (long) lq * c, imageK = (long) lk * c;

        int perImage = n * heads;
        int qChunks = Math.max(1, Math.min((lq + 31) / 32, (4 * Parallel.THREADS + perImage - 1) / perImage));
        Parallel.forRange(perImage * qChunks, 1, (lo, hi) -> {
            for (int item = lo; item < hi; item++) {
                int img = item / (heads * qChunks), h = item / qChunks % heads, chunk = item % qChunks;
                int q0 = (int) ((long) lq * chunk / qChunks), q1 = (int) ((long) lq * (chunk + 1) / qChunks);
                long key0 = AttentionKeys.first(kind, img, frames) * imageK;
                int second = AttentionKeys.second(kind, img, frames);
                long key1 = second < 0 ? -1 : second * imageK;
                int keys = second < 0 ? lk : 2 * lk;
                if (vector) CpuAttentionGradQuery.run(qs, dos, dqs, img * imageQ, q0, q1, ks, vs, key0, key1, lk, keys, c,
                        h * hs, hs, scale, causal, lse, dd, (img * heads + h) * lq);
                else ScalarAttention.query(qs, dos, dqs, img * imageQ, q0, q1, ks, vs, key0, key1, lk, keys, c, h * hs, hs,
                        scale, causal, lse, dd, (img * heads + h) * lq);
            }
        });
        if (dK == null && dV == null) return;

        int nk = k.dim(0);
        int kChunk = keyChunk(hs), kChunks = (lk + kChunk - 1) / kChunk;
        MemorySegment dks = dK == null ? null : dK.segment(), dvs = dV == null ? null : dV.segment();
        // key image varies fastest, so the heavy frame-0 items of sparse-causal attention spread over the ranges
        Parallel.forRange(nk * heads * kChunks, 1, (lo, hi) -> {
            long[] readers = new long[frames + 2];
            int[] statRows = new int[frames + 2];
            for (int item = lo; item < hi; item++) {
                int kimg = item % nk, h = item / nk % heads, chunk = item / (nk * heads);
                int j0 = (int) ((long) lk * chunk / kChunks), j1 = (int) ((long) lk * (chunk + 1) / kChunks);
                int count = readers(kind, frames, kimg, readers);
                for (int r = 0; r < count; r++) {
                    int img = (int) readers[r];
                    statRows[r] = (img * heads + h) * lq;
                    readers[r] = img * imageQ;
                }
                if (vector) CpuAttentionGradKey.run(qs, dos, ks, vs, dks, dvs, kimg * imageK, j0, j1, readers, statRows,
                        count, lq, c, h * hs, hs, scale, causal, lse, dd);
                else ScalarAttention.key(qs, dos, ks, vs, dks, dvs, kimg * imageK, j0, j1, readers, statRows, count, lq, c,
                        h * hs, hs, scale, causal, lse, dd);
            }
        });
    }

    /**
     * The query images that read key image kimg, into out; returns the count: the images whose {@link
     * AttentionKeys#first} or {@link AttentionKeys#second} it is (frames 0 and 1 read frame 0 once).
     */
    static int readers(AttentionKind kind, int frames, int kimg, long[] out) {
        switch (kind) {
            case SPARSE_CAUSAL -> {
                int g = kimg % frames, first = kimg - g, count = 0;
                for (int f = 0; f < frames; f++) {
                    if (g == 0) out[count++] = first + f;         // as frame 0
                    else if (f == g + 1) out[count++] = first + f;  // as the previous frame
                }
                return count;
            }
            case CROSS -> {
                for (int f = 0; f < frames; f++) out[f] = (long) kimg * frames + f;
                return frames;
            }
            default -> {
                out[0] = kimg;
                return 1;
            }
        }
    }

    private static void check(String op, AttentionKind kind, int frames, int heads, Tensor q, Tensor k, Tensor v,
                              Tensor dOut, Tensor dQ, Tensor dK, Tensor dV) {
        Check.rank(op, "q", q, 3);
        Check.rank(op, "k", k, 3);
        Check.rank(op, "v", v, 3);
        Check.host(op, "dOut", dOut);
        Check.host(op, "dQ", dQ);
        Check.sameShape(op, "q", q, "dOut", dOut);
        Check.sameShape(op, "q", q, "dQ", dQ);
        Check.sameShape(op, "k", k, "v", v);
        if (dK != null) { Check.host(op, "dK", dK); Check.sameShape(op, "k", k, "dK", dK); }
        if (dV != null) { Check.host(op, "dV", dV); Check.sameShape(op, "v", v, "dV", dV); }
        int n = q.dim(0), lq = q.dim(1), c = q.dim(2), lk = k.dim(1);
        Check.that(heads > 0 && c % heads == 0, op + ": heads " + heads + " must divide the " + c + " channels of q");
        Check.that(k.dim(2) == c, op + ": k " + k + " must have the " + c + " channels of q");
        boolean framed = kind == AttentionKind.SPARSE_CAUSAL || kind == AttentionKind.CROSS || kind == AttentionKind.TEMPORAL;
        if (framed) Check.that(frames > 0 && n % frames == 0, op + ": frames " + frames + " must divide N = " + n);
        switch (kind) {
            case SELF, SPARSE_CAUSAL -> Check.that(k.dim(0) == n, op + ": k " + k + " must have the N = " + n + " images of q");
            case CAUSAL -> Check.that(k.dim(0) == n && lk == lq, op + ": k " + k + " must have the shape of q " + q);
            case CROSS -> Check.that(k.dim(0) == n / frames, op + ": k " + k + " must have N / frames = " + n / frames + " rows");
            case TEMPORAL -> Check.sameShape(op, "q", q, "k", k);
        }
        Check.that(n == 0 || lq == 0 || lk > 0, op + ": k has no tokens");
        Tensor[] ins = {q, k, v, dOut};
        Tensor[] outs = {dQ, dK, dV};
        for (Tensor o : outs)
            for (Tensor i : ins)
                if (o != null) Check.that(!Check.sameBytes(o, i), op + ": gradients must not alias q, k, v or dOut");
        Check.that((dK == null || !Check.sameBytes(dK, dQ)) && (dV == null || !Check.sameBytes(dV, dQ))
                && (dK == null || dV == null || !Check.sameBytes(dK, dV)), op + ": dQ, dK and dV must be distinct");
    }
}
