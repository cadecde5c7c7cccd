package dev.tav4j.kernels.cuda;

import static dev.tav4j.kernels.cuda.CudaLaunch.ptr;
import static dev.tav4j.kernels.cuda.CudaLaunch.sameType;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Tensor;

import java.util.Arrays;

/**
 * Fused attention forward, one launch per call: the flash-style tensor-core kernel of attention_tc.cu for BF16/F16
 * where {@link TensorCoreKernels} covers the kind and head size, else attention.cu (one kernel per head-size
 * bucket; TEMPORAL always there). Sparse-causal keys are read in place, nothing is copied.
 */
final class CudaAttention {
    private final CudaLaunch l;

    CudaAttention(CudaLaunch launch) {
        this.l = launch;
    }

    void attention(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor kt, Tensor v, Tensor out) {
        if (q.rank() != 3) throw new IllegalArgumentException("attention: q must be [N, L, C], got " + Arrays.toString(q.shape()));
        int n = q.dim(0), lq = q.dim(1), c = q.dim(2);
        if (heads < 1 || c % heads != 0) throw new IllegalArgumentException("attention: " + c + " channels do not split into " + heads + " heads");
        int d = c / heads;
        CudaKernels.headBucket(d);
        out.requireShape("attention: out", q.shape());
        if (!Arrays.equals(kt.shape(), v.shape()))
            throw new IllegalArgumentException("attention: k " + Arrays.toString(kt.shape()) + " and v " + Arrays.toString(v.shape()) + " differ");
        if (kt.rank() != 3 || kt.dim(2) != c) throw new IllegalArgumentException("attention: k must be [Nk, Lk, " + c + "], got " + Arrays.toString(kt.shape()));
        sameType("attention", q, kt, v, out);
        boolean perVideo = kind == AttentionKind.SPARSE_CAUSAL || kind == AttentionKind.CROSS || kind == AttentionKind.TEMPORAL;
        if (perVideo && (frames < 1 || n % frames != 0))
            throw new IllegalArgumentException("attention " + kind + ": " + n + " images do not split into videos of " + frames + " frames");
        int nk = kind == AttentionKind.CROSS ? n / frames : n;
        int lk = kt.dim(1);
        if (kt.dim(0) != nk) throw new IllegalArgumentException("attention " + kind + ": k has " + kt.dim(0) + " images, expected " + nk);
        if ((kind == AttentionKind.CAUSAL || kind == AttentionKind.TEMPORAL) && lk != lq)
            throw new IllegalArgumentException("attention " + kind + ": k has " + lk + " tokens, q has " + lq);
        CudaKernels.Typed k = l.kernels.of(q.dtype());
        if (kind == AttentionKind.TEMPORAL) {
            long queries = (long) n * lq * heads;
            l.args.reset().ptr(ptr(q)).ptr(ptr(kt)).ptr(ptr(v)).ptr(ptr(out)).i32(frames).i32(heads).i32(d).i32(n).i32(lq).i32(c).f32(scale);
            l.grid(k.attentionTemporal(d), Math.toIntExact((queries + 31) / 32), 1, 128, 0);
            return;
        }
        int code = CudaKernels.attentionCode(kind), nkeys = CudaKernels.keysPerQuery(kind, lk);
        long gy = (long) n * heads;
        if (gy > 65535) throw new IllegalArgumentException("attention: images x heads = " + gy + " exceeds the grid limit 65535");
        l.args.reset().ptr(ptr(q)).ptr(ptr(kt)).ptr(ptr(v)).ptr(ptr(out)).i32(code).i32(Math.max(frames, 1)).i32(heads)
                .i32(d).i32(lq).i32(lk).i32(nkeys).i32(c).f32(scale);
        TensorCoreKernels.Launch tc = l.tensorCores == null || !l.tensorCores(TensorCoreFamily.ATTENTION) ? null
                : l.tensorCores.attention(q.dtype(), kind, n, heads, d, lq, ptr(q), ptr(kt), ptr(v), ptr(out));
        if (tc != null) l.grid(tc);
        else l.grid(k.attention(d), (lq + 31) / 32, (int) gy, 128, 0);
    }
}
