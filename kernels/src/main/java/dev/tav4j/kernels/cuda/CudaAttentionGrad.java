package dev.tav4j.kernels.cuda;

import static dev.tav4j.kernels.cuda.GradChecks.check;
import static dev.tav4j.kernels.cuda.GradChecks.distinct;
import static dev.tav4j.kernels.cuda.GradChecks.ptr;
import static dev.tav4j.kernels.cuda.GradChecks.sameShape;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Tensor;

import java.util.Arrays;

/**
 * Attention backward on the device in two launches (native/src/attention_grad.cu): the query phase writes dQ and
 * each query row's (log-sum-exp, D) into a scratch buffer; the key phase, one block per 32 keys of a key image,
 * sums dK and dV over every query image that read those keys. It is skipped when dK and dV are both null. All tensors
 * share one storage type (F32, F16 or BF16); the statistics are fp32.
 *
 * <p>BF16/F16 SELF, CAUSAL, SPARSE_CAUSAL and CROSS calls run the tensor-core pair of attention_grad_tc.cu where
 * {@link TensorCoreAttentionGrad#plan} covers them (64 rows per block), else the CUDA-core pair (32 rows per block).
 * The tensor-core kernels are on unless {@link TensorCoreKernels#backwardEnabledByDefault()} says off
 * ({@code TAV_CUDA_TENSOR_CORES=0} or {@code TAV_CUDA_TENSOR_CORES_BACKWARD=0}, or the matching properties), read when
 * this object is made.
 */
final class CudaAttentionGrad {
    private static final int THREADS = 128, ROWS = 32;

    private final CudaLaunch l;
    private final CudaGradKernels k;
    private final DeviceScratch stats;
    private TensorCoreAttentionGrad tensorCores;  // null: CUDA-core kernels only

    CudaAttentionGrad(CudaLaunch launch, CudaGradKernels kernels, DeviceScratch stats) {
        this.l = launch;
        this.k = kernels;
        this.stats = stats;
        if (TensorCoreKernels.backwardEnabledByDefault()) tensorCores = new TensorCoreAttentionGrad(launch.api);
    }

    /** Turns the tensor-core kernels on or off (A/B checks; {@link CudaGradOps#useTensorCores} passes it on). */
    void useTensorCores(boolean on) {
        tensorCores = on ? (tensorCores != null ? tensorCores : new TensorCoreAttentionGrad(l.api)) : null;
    }

    void run(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor kt, Tensor v, Tensor dOut,
             Tensor dQ, Tensor dK, Tensor dV) {
        if (kind == null) throw new IllegalArgumentException("attentionBackward: kind is null");
        String op = "attentionBackward(" + kind + ")";
        validate(op, kind, frames, heads, q, kt, v, dOut, dQ, dK, dV);
        int n = q.dim(0), lq = q.dim(1), c = q.dim(2), lk = kt.dim(1), nk = kt.dim(0);
        int d = c / heads;
        if (n == 0 || lq == 0) {
            if (dK != null && dK.size() > 0) l.api.memset(ptr(dK), 0, dK.size() * dK.dtype().bytes());
            if (dV != null && dV.size() > 0) l.api.memset(ptr(dV), 0, dV.size() * dV.dtype().bytes());
            return;
        }
        long st = stats.get((long) n * lq * heads * 2 * 4);
        CudaGradKernels.Typed typed = k.of(q.dtype());
        boolean keys = dK != null || dV != null;
        long dk = dK == null ? 0 : ptr(dK), dv = dV == null ? 0 : ptr(dV);
        if (kind == AttentionKind.TEMPORAL) {
            int blocks = Math.toIntExact(((long) n * lq * heads + ROWS - 1) / ROWS);
            l.args.reset().ptr(ptr(q)).ptr(ptr(kt)).ptr(ptr(v)).ptr(ptr(dOut)).ptr(ptr(dQ)).ptr(st)
                    .i32(frames).i32(heads).i32(d).i32(n).i32(lq).i32(c).f32(scale);
            l.grid(typed.temporalQuery(d), blocks, 1, THREADS);
            if (!keys) return;
            l.args.reset().ptr(ptr(q)).ptr(ptr(kt)).ptr(ptr(v)).ptr(ptr(dOut)).ptr(st).ptr(dk).ptr(dv)
                    .i32(frames).i32(heads).i32(d).i32(n).i32(lq).i32(c).f32(scale);
            l.grid(typed.temporalKey(d), blocks, 1, THREADS);
            return;
        }
        int code = CudaKernels.attentionCode(kind), nkeys = CudaKernels.keysPerQuery(kind, lk);
        int fr = Math.max(frames, 1);
        TensorCoreAttentionGrad.Plan tc = tensorCores == null || !l.tensorCores(TensorCoreFamily.ATTENTION_GRAD) ? null
                : tensorCores.plan(q.dtype(), kind, d, ptr(q), ptr(kt), ptr(v), ptr(dOut), ptr(dQ), dk, dv);
        // the same arguments for both kernel pairs; only the rows per block and the shared memory differ
        int rows = tc == null ? ROWS : TensorCoreAttentionGrad.ROWS;
        l.args.reset().ptr(ptr(q)).ptr(ptr(kt)).ptr(ptr(v)).ptr(ptr(dOut)).ptr(ptr(dQ)).ptr(st)
                .i32(code).i32(fr).i32(heads).i32(d).i32(lq).i32(lk).i32(nkeys).i32(c).f32(scale);
        l.grid(tc == null ? typed.attentionQuery(d) : tc.query(), (lq + rows - 1) / rows, Math.toIntExact((long) n * heads),
                THREADS, tc == null ? 0 : tc.querySmem());
        if (!keys) return;
        l.args.reset().ptr(ptr(q)).ptr(ptr(kt)).ptr(ptr(v)).ptr(ptr(dOut)).ptr(st).ptr(dk).ptr(dv)
                .i32(code).i32(fr).i32(heads).i32(d).i32(lq).i32(lk).i32(c).f32(scale);
        l.grid(tc == null ? typed.attentionKey(d) : tc.key(), (lk + rows - 1) / rows, Math.toIntExact((long) nk * heads),
                THREADS, tc == null ? 0 : tc.keySmem());
    }

    private static void validate(String op, AttentionKind kind, int frames, int heads, Tensor q, Tensor k, Tensor v,
                              Tensor dOut, Tensor dQ, Tensor dK, Tensor dV) {
        for (Tensor t : new Tensor[] {q, k, v})
            check(t.rank() == 3, op + ": q, k and v must be [N, L, C], got " + Arrays.toString(t.shape()));
        GradChecks.sameType(op, q, k, v, dOut, dQ, dK, dV);
        sameShape(op, "q", q, "dOut", dOut);
        sameShape(op, "q", q, "dQ", dQ);
        sameShape(op, "k", k, "v", v);
        if (dK != null) sameShape(op, "k", k, "dK", dK);
        if (dV != null) sameShape(op, "v", v, "dV", dV);
        int n = q.dim(0), lq = q.dim(1), c = q.dim(2), lk = k.dim(1);
        check(heads > 0 && c % heads == 0, op + ": heads " + heads + " must divide the " + c + " channels of q");
        CudaKernels.headBucket(c / heads);
        check(k.dim(2) == c, op + ": k " + Arrays.toString(k.shape()) + " must have the " + c + " channels of q");
        boolean framed = kind == AttentionKind.SPARSE_CAUSAL || kind == AttentionKind.CROSS || kind == AttentionKind.TEMPORAL;
        if (framed) check(frames > 0 && n % frames == 0, op + ": frames " + frames + " must divide N = " + n);
        switch (kind) {
            case SELF, SPARSE_CAUSAL -> check(k.dim(0) == n, op + ": k " + Arrays.toString(k.shape()) + " must have the N = " + n + " images of q");
            case CAUSAL -> check(k.dim(0) == n && lk == lq, op + ": k " + Arrays.toString(k.shape()) + " must have the shape of q " + Arrays.toString(q.shape()));
            case CROSS -> check(k.dim(0) == n / frames, op + ": k " + Arrays.toString(k.shape()) + " must have N / frames = " + n / frames + " rows");
            case TEMPORAL -> sameShape(op, "q", q, "k", k);
        }
        check(n == 0 || lq == 0 || lk > 0, op + ": k has no tokens");
        String[] on = {"dQ", "dK", "dV"}, in = {"q", "k", "v", "dOut"};
        Tensor[] outs = {dQ, dK, dV}, ins = {q, k, v, dOut};
        for (int o = 0; o < outs.length; o++) {
            for (int i = 0; i < ins.length; i++) distinct(op, on[o], outs[o], in[i], ins[i]);
            for (int p = o + 1; p < outs.length; p++) distinct(op, on[o], outs[o], on[p], outs[p]);
        }
    }
}
