package dev.tav4j.kernels.cuda;

import static dev.tav4j.kernels.cuda.GradChecks.check;
import static dev.tav4j.kernels.cuda.GradChecks.distinct;
import static dev.tav4j.kernels.cuda.GradChecks.ptr;
import static dev.tav4j.kernels.cuda.GradChecks.requireF32;
import static dev.tav4j.kernels.cuda.GradChecks.sameShape;
import static dev.tav4j.kernels.cuda.GradChecks.sameType;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.TuneScalars;
import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceApi.GemmType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The backward ops of the CUDA backend, written against {@link DeviceApi} like {@link CudaOps} (a GPU, or the
 * host emulation in CI). Activations and frozen weights may be F32, F16 or BF16 (one type per op, fp32 arithmetic in
 * every kernel); weight gradients go into F32 buffers whatever the activations' type (mixed precision: fp32 master
 * gradients), and the optimizer ops (sum of squares, AdamW) take F32 only. Matmul gradients are GEMMs with
 * transposes ({@link DeviceApi#gemm}, cuBLAS on a GPU, half inputs into an fp32 output where the weight gradient is
 * F32; the bias gradient is a ones-vector GEMM); everything else is a kernel of native/src/*_grad.cu (the conv
 * input gradient: conv.cu, and conv_tc.cu on tensor cores for BF16/F16 via {@link TensorCoreKernels}; the conv
 * weight and norm affine gradients: param_grad.cu, fp32 partials added in order onto F32 or same-type outputs). Every
 * reduction has a fixed order (no atomics), so a step is reproducible run to run. Not thread-safe: one instance
 * per {@link CudaOps}, on its stream.
 */
public final class CudaGradOps implements GradOps, AutoCloseable {
    /** Blocks of the first sum-of-squares stage: fixed by the element count alone, so sums do not depend on the device. */
    private static final int SQ_BLOCKS = 256;

    private final CudaLaunch l;  // the backend's: one parameter buffer and profiler for forward and backward
    private final DeviceApi api;
    private final CudaGradKernels k;
    private final DeviceScratch scratch, stats, table;
    private final Map<DType, DeviceScratch> ones = new EnumMap<>(DType.class);
    private final Map<DType, Long> onesCount = new EnumMap<>(DType.class);
    private final CudaAttentionGrad attention;
    private TensorCoreKernels tensorCores;  // BF16/F16 conv input gradient on tensor cores; null = CUDA-core kernel only
    private final Arena arena = Arena.ofShared();
    private final MemorySegment hostDouble = arena.allocate(8, 8);
    /** The (address, count) table last uploaded for {@link #sumOfSquares(List)}, and where it lives. */
    private long[] tableContents = new long[0];
    private long tablePointer;
    private MemorySegment hostTable = MemorySegment.NULL;

    /** The backward ops of the backend that launches through {@code launch} (made by {@link CudaOps#grad()}). */
    CudaGradOps(CudaLaunch launch) {
        this.api = launch.api;
        this.l = launch;
        this.k = new CudaGradKernels(api);
        this.scratch = new DeviceScratch(api);
        this.stats = new DeviceScratch(api);
        this.table = new DeviceScratch(api);
        this.attention = new CudaAttentionGrad(l, k, stats);
        if (TensorCoreKernels.backwardEnabledByDefault()) this.tensorCores = new TensorCoreKernels(api);
    }

    /**
     * Turns the tensor-core kernels of the BF16/F16 backward ops (conv input gradient, attention) on or off (A/B
     * checks; default as {@link TensorCoreKernels#backwardEnabledByDefault()} says).
     */
    void useTensorCores(boolean on) {
        tensorCores = on ? (tensorCores != null ? tensorCores : new TensorCoreKernels(api)) : null;
        attention.useTensorCores(on);
    }

    // ---------------------------------------------------------------- linear algebra

    @Override public void matmulBackwardInput(Tensor dY, Tensor w, Tensor dX) {
        String op = "matmulBackwardInput";
        check(w.rank() == 2, op + ": w must be [K, N], got " + Arrays.toString(w.shape()));
        sameType(op, dY, w, dX);
        int kk = w.dim(0), n = w.dim(1);
        check(dY.rank() >= 1 && dY.dim(-1) == n, op + ": dY " + Arrays.toString(dY.shape()) + " must end in N = " + n);
        int[] want = dY.shape();
        want[want.length - 1] = kk;
        dX.requireShape(op + ": dX", want);
        distinct(op, "dX", dX, "dY", dY);
        distinct(op, "dX", dX, "w", w);
        if (dX.size() == 0) return;
        int m = Math.toIntExact(dX.size() / kk);
        // dX[M, K] = dY[M, N] · w[K, N]ᵀ
        l.begin("cublas_gemm_" + CudaKernels.suffix(dX.dtype()) + " dX");
        api.gemm(gemmType(dX.dtype()), false, true, m, kk, n, 1f, ptr(dY), n, 0, ptr(w), n, 0, 0f, ptr(dX), kk, 0, 1);
        l.end();
    }

    @Override public void matmulBackwardWeight(Tensor x, Tensor dY, Tensor dW, Tensor dBias) {
        String op = "matmulBackwardWeight";
        check(dW.rank() == 2, op + ": dW must be [K, N], got " + Arrays.toString(dW.shape()));
        sameType(op, x, dY);
        // weight gradients in the activations' type, or fp32 (master gradients of mixed-precision tuning)
        if (dW.dtype() != DType.F32) sameType(op, x, dW);
        if (dBias != null) check(dBias.dtype() == dW.dtype(), op + ": dBias " + dBias + " must have dW's type " + dW.dtype());
        int kk = dW.dim(0), n = dW.dim(1);
        check(x.rank() >= 1 && x.dim(-1) == kk, op + ": x " + Arrays.toString(x.shape()) + " must end in K = " + kk);
        int[] want = x.shape();
        want[want.length - 1] = n;
        dY.requireShape(op + ": dY", want);
        if (dBias != null) dBias.requireShape(op + ": dBias", n);
        distinct(op, "dW", dW, "x", x);
        distinct(op, "dW", dW, "dY", dY);
        if (n == 0 || dY.size() == 0) return;
        int m = Math.toIntExact(dY.size() / n);
        if (dBias != null) {
            // dBias[1, N] += ones[1, M] · dY[M, N]
            long onesVector = ones(m, dY.dtype());  // may launch its fill: outside the GEMM's profiler bracket
            l.begin("cublas_gemm_" + CudaKernels.suffix(dY.dtype()) + " dBias");
            api.gemm(gemmType(dY.dtype()), gemmType(dBias.dtype()), false, false, 1, n, m, 1f, onesVector, m, 0,
                    ptr(dY), n, 0, 1f, ptr(dBias), n, 0, 1);
            l.end();
        }
        if (kk == 0) return;
        // dW[K, N] += x[M, K]ᵀ · dY[M, N]
        l.begin("cublas_gemm_" + CudaKernels.suffix(x.dtype()) + " dW");
        api.gemm(gemmType(x.dtype()), gemmType(dW.dtype()), true, false, kk, n, m, 1f, ptr(x), kk, 0, ptr(dY), n, 0, 1f,
                ptr(dW), n, 0, 1);
        l.end();
    }

    /** A device vector of at least m ones of type t (grown and filled only when too short). */
    private long ones(int m, DType t) {
        DeviceScratch buf = ones.computeIfAbsent(t, x -> new DeviceScratch(api));
        long have = onesCount.getOrDefault(t, 0L);
        long p = buf.get((long) t.bytes() * m);
        if (m > have) {
            long cap = Math.max(m, 4096);
            p = buf.get((long) t.bytes() * cap);
            l.args.reset().ptr(p).f32(1f).i64(cap);
            l.elementwise(k.of(t).fill, cap);
            onesCount.put(t, cap);
        }
        return p;
    }

    static GemmType gemmType(DType t) {
        return switch (t) {
            case F32 -> GemmType.F32;
            case F16 -> GemmType.F16;
            case BF16 -> GemmType.BF16;
        };
    }

    @Override public void conv2dBackwardInput(Tensor dY, Tensor w, int stride, int padding, boolean padBottomRightOnly, Tensor dX) {
        String op = "conv2dBackwardInput";
        for (Tensor t : new Tensor[] {dY, w, dX})
            check(t.rank() == 4, op + ": dY, w and dX must have rank 4, got " + Arrays.toString(t.shape()));
        sameType(op, dY, w, dX);
        int n = dX.dim(0), h = dX.dim(1), wd = dX.dim(2), ci = dX.dim(3);
        int kh = w.dim(0), kw = w.dim(1), co = w.dim(3);
        check(w.dim(2) == ci, op + ": w [kh, kw, Ci, Co] has Ci " + w.dim(2) + " but dX has " + ci + " channels");
        check(stride >= 1 && padding >= 0, op + ": stride " + stride + ", padding " + padding);
        check(!padBottomRightOnly || padding == 0, op + ": padBottomRightOnly needs padding 0, got " + padding);
        int top = padBottomRightOnly ? 0 : padding, extra = padBottomRightOnly ? 1 : 2 * padding;
        check(h + extra >= kh && wd + extra >= kw, op + ": kernel " + kh + "x" + kw + " larger than padded input " + Arrays.toString(dX.shape()));
        int ho = (h + extra - kh) / stride + 1, wo = (wd + extra - kw) / stride + 1;
        dY.requireShape(op + ": dY", n, ho, wo, co);
        distinct(op, "dX", dX, "dY", dY);
        if (dX.size() == 0) return;
        long m = (long) n * h * wd;
        l.args.reset().ptr(ptr(dY)).ptr(ptr(w)).ptr(ptr(dX)).i32(n).i32(h).i32(wd).i32(ci).i32(ho).i32(wo).i32(co)
                .i32(kh).i32(kw).i32(stride).i32(top).i32(top);
        TensorCoreKernels.Launch tc = tensorCores == null || !l.tensorCores(TensorCoreFamily.CONV2D_INPUT_GRAD) ? null
                : tensorCores.conv2dBackwardInput(dX.dtype(), m, ci, co, ptr(dY), ptr(w), ptr(dX));
        if (tc != null) l.grid(tc.kernel(), tc.gx(), tc.gy(), tc.threads(), tc.smem());
        else l.grid(k.of(dX.dtype()).convInput, Math.toIntExact((m + 63) / 64), (ci + 63) / 64, 256);
    }

    /**
     * Split-M GEMM without atomics: {@code conv2d_bwd_weight_T} writes S fp32 partials of dW [K = kh·kw·Ci, Co]
     * (64 × 64 tiles, each over one chunk of the output pixels), {@code sum_partials_G} adds them in order onto dW;
     * S is fixed by the shape (about 1024 blocks, chunks of at least 256 pixels), so results do not depend on the
     * device. dBias: the per-channel sums of dY ({@link #channelGrads}).
     */
    @Override public void conv2dBackwardWeight(Tensor x, Tensor dY, int stride, int padding, boolean padBottomRightOnly,
                                               Tensor dW, Tensor dBias) {
        String op = "conv2dBackwardWeight";
        for (Tensor t : new Tensor[] {x, dY, dW})
            check(t.rank() == 4, op + ": x, dY and dW must have rank 4, got " + Arrays.toString(t.shape()));
        sameType(op, x, dY);
        // weight gradients in the activations' type, or fp32 (master gradients of mixed-precision tuning)
        if (dW.dtype() != DType.F32) sameType(op, x, dW);
        if (dBias != null) check(dBias.dtype() == dW.dtype(), op + ": dBias " + dBias + " must have dW's type " + dW.dtype());
        int n = x.dim(0), h = x.dim(1), wd = x.dim(2), ci = x.dim(3);
        int kh = dW.dim(0), kw = dW.dim(1), co = dW.dim(3);
        check(dW.dim(2) == ci, op + ": dW [kh, kw, Ci, Co] has Ci " + dW.dim(2) + " but x has " + ci + " channels");
        check(stride >= 1 && padding >= 0, op + ": stride " + stride + ", padding " + padding);
        check(!padBottomRightOnly || padding == 0, op + ": padBottomRightOnly needs padding 0, got " + padding);
        int top = padBottomRightOnly ? 0 : padding, extra = padBottomRightOnly ? 1 : 2 * padding;
        check(h + extra >= kh && wd + extra >= kw, op + ": kernel " + kh + "x" + kw + " larger than padded input " + Arrays.toString(x.shape()));
        int ho = (h + extra - kh) / stride + 1, wo = (wd + extra - kw) / stride + 1;
        dY.requireShape(op + ": dY", n, ho, wo, co);
        if (dBias != null) dBias.requireShape(op + ": dBias", co);
        distinct(op, "dW", dW, "x", x);
        distinct(op, "dW", dW, "dY", dY);
        distinct(op, "dBias", dBias, "dW", dW);
        distinct(op, "dBias", dBias, "x", x);
        distinct(op, "dBias", dBias, "dY", dY);
        long m = (long) n * ho * wo;
        if (co == 0 || m == 0) return;
        if (dBias != null) {
            int splits = channelSplits(m);
            channelGrads(null, dY, 0, null, null, m, co, 1, 1, false, null, dBias, splits, scratch.get(8L * splits * co));
        }
        int kk = Math.multiplyExact(kh * kw, ci);
        if (kk == 0) return;
        int kTiles = (kk + 63) / 64, nTiles = (co + 63) / 64;
        long tiles = (long) kTiles * nTiles;
        long splits = Math.max(1, Math.min((1024 + tiles - 1) / tiles, (m + 255) / 256));
        long chunk = ((m + splits - 1) / splits + 15) / 16 * 16;
        splits = (m + chunk - 1) / chunk;
        long elems = (long) kk * co;
        long part = scratch.get(4L * splits * elems);
        l.args.reset().ptr(ptr(x)).ptr(ptr(dY)).ptr(part).i32(n).i32(h).i32(wd).i32(ci).i32(ho).i32(wo).i32(co)
                .i32(kh).i32(kw).i32(stride).i32(top).i32(top).i64(chunk);
        l.grid(k.of(x.dtype()).convWeight, Math.toIntExact(kTiles * splits), nTiles, 256);
        l.args.reset().ptr(part).ptr(ptr(dW)).i64(elems).i32((int) splits);
        l.elementwise(k.of(dW.dtype()).sumPartials, elems);
    }

    /** Row splits of {@link #channelGrads}: chunks of at least 256 rows, at most 64, fixed by the row count. */
    private static int channelSplits(long rows) {
        return (int) Math.max(1, Math.min(64, (rows + 255) / 256));
    }

    /**
     * Per-channel parameter gradients over rows [rows, c] of dY: {@code channel_grad_partial_T} sums dz and, with
     * statistics ({@code stats} ≠ 0: (mean, rstd) pairs indexed (row / rowsPerStat)·groups + channel group), dz·x̂
     * over {@code splits} chunks of rows into fp32 partials at {@code part} (8·splits·c bytes), then
     * {@code channel_grad_finalize_G} adds them in order onto dGamma (Σ dz·x̂) and dBeta (Σ dz), either null.
     */
    private void channelGrads(Tensor x, Tensor dY, long stats, Tensor gamma, Tensor beta, long rows, int c, int groups,
                              long rowsPerStat, boolean silu, Tensor dGamma, Tensor dBeta, int splits, long part) {
        long chunk = (rows + splits - 1) / splits;
        l.args.reset().ptr(CudaLaunch.ptrOrNull(x)).ptr(ptr(dY)).ptr(stats).ptr(CudaLaunch.ptrOrNull(gamma))
                .ptr(CudaLaunch.ptrOrNull(beta)).ptr(part).i64(rows).i32(c).i32(groups).i64(rowsPerStat)
                .i32(silu ? 1 : 0).i64(chunk);
        l.grid(k.of(dY.dtype()).channelPartial, (c + 31) / 32, splits, 256);
        Tensor out = dGamma != null ? dGamma : dBeta;
        l.args.reset().ptr(part).ptr(CudaLaunch.ptrOrNull(dGamma)).ptr(CudaLaunch.ptrOrNull(dBeta)).i32(c).i32(splits);
        l.grid(k.of(out.dtype()).channelFinalize, (c + 255) / 256, 1, 256);
    }

    /** Checks the affine gradients of a norm: shape [c], F32 or the activations' type, one type, distinct. */
    private static void checkAffineGrads(String op, Tensor x, int c, Tensor dGamma, Tensor dBeta) {
        for (Tensor t : new Tensor[] {dGamma, dBeta}) {
            if (t == null) continue;
            if (t.dtype() != DType.F32) sameType(op, x, t);
            t.requireShape(op + ": " + (t == dGamma ? "dGamma" : "dBeta"), c);
        }
        if (dGamma != null && dBeta != null)
            check(dGamma.dtype() == dBeta.dtype(), op + ": dBeta " + dBeta + " must have dGamma's type " + dGamma.dtype());
        distinct(op, "dGamma", dGamma, "dBeta", dBeta);
    }

    // ---------------------------------------------------------------- normalisation

    @Override public void groupNormBackward(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps,
                                            boolean silu, Tensor dY, Tensor dX) {
        String op = "groupNormBackward";
        check(x.rank() >= 2, op + ": x must be [N, ..., C], got " + Arrays.toString(x.shape()));
        sameType(op, x, gamma, beta, dY, dX);
        sameShape(op, "x", x, "dY", dY);
        sameShape(op, "x", x, "dX", dX);
        int n = x.dim(0), c = x.dim(-1);
        check(groups > 0 && c % groups == 0, op + ": groups " + groups + " must divide the " + c + " channels");
        check(framesPooled > 0 && n % framesPooled == 0, op + ": framesPooled " + framesPooled + " must divide N = " + n);
        gamma.requireShape(op + ": gamma", c);
        beta.requireShape(op + ": beta", c);
        distinct(op, "dX", dX, "x", x);
        if (x.size() == 0) return;
        long hw = x.sizeFrom(1) / c;
        int vg = n / framesPooled * groups;
        long groupElems = framesPooled * hw * (c / groups);
        int s = groupNormSplits(groupElems);
        long chunk = (groupElems + s - 1) / s;
        // scratch: forward partials [vg][s][3], (mean, rstd) [vg][2], gradient partials [vg][s][2], means [vg][2]
        long p3 = scratch.get(4L * vg * (5L * s + 4));
        long st = p3 + 12L * vg * s, p2 = st + 8L * vg, means = p2 + 8L * vg * s;
        CudaGradKernels.Typed kt = k.of(x.dtype());
        groupNormStats(x, groups, framesPooled, eps, s, p3, st);
        int siluOn = silu ? 1 : 0;
        l.args.reset().ptr(ptr(x)).ptr(ptr(dY)).ptr(st).ptr(ptr(gamma)).ptr(ptr(beta)).ptr(p2).i32(c).i32(groups).i64(hw)
                .i32(framesPooled).i64(chunk).i32(siluOn);
        l.grid(kt.groupNormPartial, s, vg, 256);
        l.args.reset().ptr(p2).ptr(means).i32(vg).i32(s).f64(groupElems);  // the kernel takes the count as a double
        l.grid(k.groupNormFinalize, (vg + 255) / 256, 1, 256);
        l.args.reset().ptr(ptr(x)).ptr(ptr(dY)).ptr(st).ptr(means).ptr(ptr(gamma)).ptr(ptr(beta)).ptr(ptr(dX))
                .i64(x.size()).i32(c).i32(groups).i64(hw).i32(framesPooled).i32(siluOn);
        l.elementwise(kt.groupNormApply, x.size());
    }

    /** Chunks per (video, group) of the recomputed GroupNorm statistics (the forward's Welford partials). */
    private int groupNormSplits(long groupElems) {
        return (int) Math.max(1, Math.min(api.emulated() ? 4 : 64, (groupElems + 8191) / 8192));
    }

    /**
     * (mean, rstd) per (video, group) into {@code st} ([vg][2] floats) by the forward's {@code groupnorm_partial_T}
     * ({@code s} chunks per group, Welford partials [vg][s][3] at {@code p3}) and {@code groupnorm_finalize}.
     */
    private void groupNormStats(Tensor x, int groups, int framesPooled, float eps, int s, long p3, long st) {
        int c = x.dim(-1), vg = x.dim(0) / framesPooled * groups;
        long hw = x.sizeFrom(1) / c, groupElems = framesPooled * hw * (c / groups);
        l.args.reset().ptr(ptr(x)).ptr(p3).i32(c).i32(groups).i64(hw).i32(framesPooled).i64((groupElems + s - 1) / s);
        l.grid(k.of(x.dtype()).groupNormStats, s, vg, 256);
        l.args.reset().ptr(p3).ptr(st).i32(vg).i32(s).f32(eps);
        l.grid(k.groupNormStatsFinalize, (vg + 255) / 256, 1, 256);
    }

    /**
     * The statistics as {@link #groupNormBackward} recomputes them, then {@link #channelGrads} over the
     * [N·H·W, C] rows with x̂ from the (video, group) statistics and dz through the SiLU when fused.
     */
    @Override public void groupNormBackwardAffine(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta,
                                                  float eps, boolean silu, Tensor dY, Tensor dGamma, Tensor dBeta) {
        String op = "groupNormBackwardAffine";
        check(x.rank() >= 2, op + ": x must be [N, ..., C], got " + Arrays.toString(x.shape()));
        sameType(op, x, gamma, beta, dY);
        sameShape(op, "x", x, "dY", dY);
        int n = x.dim(0), c = x.dim(-1);
        check(groups > 0 && c % groups == 0, op + ": groups " + groups + " must divide the " + c + " channels");
        check(framesPooled > 0 && n % framesPooled == 0, op + ": framesPooled " + framesPooled + " must divide N = " + n);
        gamma.requireShape(op + ": gamma", c);
        beta.requireShape(op + ": beta", c);
        checkAffineGrads(op, x, c, dGamma, dBeta);
        if (x.size() == 0 || (dGamma == null && dBeta == null)) return;
        long hw = x.sizeFrom(1) / c, rows = x.size() / c;
        int vg = n / framesPooled * groups;
        int s = groupNormSplits(framesPooled * hw * (c / groups)), splits = channelSplits(rows);
        // scratch: forward partials [vg][s][3], (mean, rstd) [vg][2], channel partials [splits][c][2]
        long p3 = scratch.get(4L * vg * (3L * s + 2) + 8L * splits * c);
        long st = p3 + 12L * vg * s, part = st + 8L * vg;
        groupNormStats(x, groups, framesPooled, eps, s, p3, st);
        channelGrads(x, dY, st, gamma, beta, rows, c, groups, framesPooled * hw, silu, dGamma, dBeta, splits, part);
    }

    @Override public void layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dX) {
        String op = "layerNormBackward";
        check(x.rank() >= 1, op + ": x must have a last dimension");
        sameType(op, x, gamma, dY, dX);
        sameShape(op, "x", x, "dY", dY);
        sameShape(op, "x", x, "dX", dX);
        int c = x.dim(-1);
        gamma.requireShape(op + ": gamma", c);
        distinct(op, "dX", dX, "x", x);
        if (x.size() == 0) return;
        long rows = x.size() / c;
        l.args.reset().ptr(ptr(x)).ptr(ptr(gamma)).ptr(ptr(dY)).ptr(ptr(dX)).i64(rows).i32(c).f32(eps);
        l.grid(k.of(x.dtype()).layerNorm, Math.toIntExact((rows + 3) / 4), 1, 128);
    }

    /** (mean, rstd) per row ({@code layernorm_stats_T}, one warp per row), then {@link #channelGrads} over the rows. */
    @Override public void layerNormBackwardAffine(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dGamma,
                                                  Tensor dBeta) {
        String op = "layerNormBackwardAffine";
        check(x.rank() >= 1, op + ": x must have a last dimension");
        sameType(op, x, gamma, dY);
        sameShape(op, "x", x, "dY", dY);
        int c = x.dim(-1);
        gamma.requireShape(op + ": gamma", c);
        checkAffineGrads(op, x, c, dGamma, dBeta);
        if (x.size() == 0 || (dGamma == null && dBeta == null)) return;
        long rows = x.size() / c;
        int splits = channelSplits(rows);
        // scratch: (mean, rstd) [rows][2], channel partials [splits][c][2]
        long st = scratch.get(8L * rows + 8L * splits * c), part = st + 8L * rows;
        if (dGamma != null) {
            l.args.reset().ptr(ptr(x)).ptr(st).i64(rows).i32(c).f32(eps);
            l.grid(k.of(x.dtype()).layerNormStats, Math.toIntExact((rows + 3) / 4), 1, 128);
        }
        channelGrads(x, dY, dGamma != null ? st : 0, null, null, rows, c, 1, 1, false, dGamma, dBeta, splits, part);
    }

    // ---------------------------------------------------------------- attention

    @Override public void attentionBackward(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor kt,
                                            Tensor v, Tensor dOut, Tensor dQ, Tensor dK, Tensor dV) {
        attention.run(kind, frames, heads, scale, q, kt, v, dOut, dQ, dK, dV);
    }

    // ---------------------------------------------------------------- point-wise and layout

    @Override public void gegluBackward(Tensor x, Tensor dY, Tensor dX) {
        String op = "gegluBackward";
        sameType(op, x, dY, dX);
        check(x.rank() >= 1 && x.dim(-1) % 2 == 0, op + ": x's last dimension must be even, got " + Arrays.toString(x.shape()));
        sameShape(op, "x", x, "dX", dX);
        int d = x.dim(-1) / 2;
        int[] want = x.shape();
        want[want.length - 1] = d;
        dY.requireShape(op + ": dY", want);
        distinct(op, "dX", dX, "dY", dY);
        distinct(op, "dX", dX, "x", x);
        if (d == 0) return;
        long rows = x.size() / (2L * d);
        l.args.reset().ptr(ptr(x)).ptr(ptr(dY)).ptr(ptr(dX)).i64(rows).i32(d);
        l.elementwise(k.of(x.dtype()).geglu, rows * d);
    }

    @Override public void activationBackward(Activation act, Tensor x, Tensor dY, Tensor dX) {
        String op = "activationBackward";
        if (act == null) throw new IllegalArgumentException(op + ": act is null");
        sameType(op, x, dY, dX);
        sameShape(op, "x", x, "dY", dY);
        sameShape(op, "x", x, "dX", dX);
        l.args.reset().ptr(ptr(x)).ptr(ptr(dY)).ptr(ptr(dX)).i32(act.ordinal()).i64(x.size());
        l.elementwise(k.of(x.dtype()).activation, x.size());
    }

    @Override public void upsampleNearestBackward(Tensor dY, Tensor dX) {
        String op = "upsampleNearestBackward";
        check(dY.rank() == 4 && dX.rank() == 4, op + ": dY " + Arrays.toString(dY.shape()) + " and dX " + Arrays.toString(dX.shape()) + " must be [N, H, W, C]");
        sameType(op, dY, dX);
        int n = dX.dim(0), h = dX.dim(1), w = dX.dim(2), c = dX.dim(3), ho = dY.dim(1), wo = dY.dim(2);
        check(dY.dim(0) == n && dY.dim(3) == c, op + ": dY " + Arrays.toString(dY.shape()) + " must keep N and C of dX " + Arrays.toString(dX.shape()));
        distinct(op, "dX", dX, "dY", dY);
        if (dX.size() == 0) return;
        check(ho > 0 && wo > 0, op + ": dY " + Arrays.toString(dY.shape()) + " is empty");
        l.args.reset().ptr(ptr(dY)).ptr(ptr(dX)).i32(n).i32(h).i32(w).i32(c).i32(ho).i32(wo);
        l.elementwise(k.of(dX.dtype()).upsample, dX.size());
    }

    @Override public void addChannelBiasBackward(Tensor dY, int repeat, Tensor dRows) {
        String op = "addChannelBiasBackward";
        sameType(op, dY, dRows);
        check(dY.rank() == 4 && repeat > 0 && dY.dim(0) % repeat == 0, op + ": dY " + Arrays.toString(dY.shape()) + " with " + repeat + " images per row");
        int rows = dY.dim(0) / repeat, c = dY.dim(3);
        dRows.requireShape(op + ": dRows", rows, c);
        distinct(op, "dRows", dRows, "dY", dY);
        int m = repeat * dY.dim(1) * dY.dim(2);
        if (c == 0 || rows == 0) return;
        if (m == 0) {
            l.args.reset().ptr(ptr(dRows)).f32(0f).i64(dRows.size());
            l.elementwise(k.of(dRows.dtype()).fill, dRows.size());
            return;
        }
        // dRows[b] = ones[1, M] · dY_b[M, C], one strided-batched GEMM over the rows
        long onesVector = ones(m, dY.dtype());
        l.begin("cublas_gemm_" + CudaKernels.suffix(dY.dtype()) + " dRows");
        api.gemm(gemmType(dY.dtype()), gemmType(dRows.dtype()), false, false, 1, c, m, 1f, onesVector, m, 0,
                ptr(dY), c, (long) m * c, 0f, ptr(dRows), c, c, rows);
        l.end();
    }

    @Override public void splitChannels(Tensor dOut, Tensor dA, Tensor dB) {
        String op = "splitChannels";
        sameType(op, dOut, dA, dB);
        check(dA.rank() >= 1 && dA.rank() == dB.rank() && dA.rank() == dOut.rank(), op + ": dA, dB and dOut must have the same rank");
        int ca = dA.dim(-1), cb = dB.dim(-1);
        int[] lead = Arrays.copyOf(dOut.shape(), dOut.rank() - 1);
        check(Arrays.equals(lead, Arrays.copyOf(dA.shape(), dA.rank() - 1)) && Arrays.equals(lead, Arrays.copyOf(dB.shape(), dB.rank() - 1)),
                op + ": dA " + Arrays.toString(dA.shape()) + " and dB " + Arrays.toString(dB.shape()) + " must match dOut " + Arrays.toString(dOut.shape()) + " before the last dimension");
        check(dOut.dim(-1) == ca + cb, op + ": dOut " + Arrays.toString(dOut.shape()) + " must have Ca + Cb = " + (ca + cb) + " channels");
        distinct(op, "dA", dA, "dOut", dOut);
        distinct(op, "dB", dB, "dOut", dOut);
        if (ca + cb == 0) return;
        long pixels = dOut.size() / (ca + cb);
        l.args.reset().ptr(ptr(dOut)).ptr(ptr(dA)).ptr(ptr(dB)).i64(pixels).i32(ca).i32(cb);
        l.elementwise(k.of(dOut.dtype()).split, dOut.size());
    }

    // ---------------------------------------------------------------- optimiser

    @Override public double sumOfSquares(Tensor x) {
        requireF32("sumOfSquares", x);
        if (x.size() == 0) return 0;
        int blocks = (int) Math.min(SQ_BLOCKS, (x.size() + 255) / 256);
        long part = scratch.get(8L * (blocks + 1)), out = part + 8L * blocks;
        l.args.reset().ptr(ptr(x)).ptr(part).i64(x.size());
        l.grid(k.sumSquaresPartial, blocks, 1, 256);
        l.args.reset().ptr(part).ptr(out).i32(blocks);
        l.grid(k.sumSquaresFinal, 1, 1, 256);
        api.copyToHost(out, hostDouble, 8);  // ordered after the kernels on the stream
        return hostDouble.get(ValueLayout.JAVA_DOUBLE, 0);
    }

    /**
     * Every tensor in one launch of {@code sum_squares_multi_f32} over a device table of (address, count) pairs
     * (uploaded only when the tensors change: a tuning step passes the same gradient buffers every time), one final
     * block and one 8-byte read-back. Grid fixed by the total count, so the result is reproducible.
     */
    @Override public double sumOfSquares(List<Tensor> xs) {
        long out = launchSumOfSquares(xs);
        if (out == 0) return 0;
        api.copyToHost(out, hostDouble, 8);
        return hostDouble.get(ValueLayout.JAVA_DOUBLE, 0);
    }

    /** Queues the multi-tensor sum of squares; returns the device address of the double result (0 when empty). */
    private long launchSumOfSquares(List<Tensor> xs) {
        long[] contents = new long[2 * xs.size()];
        long total = 0;
        for (int i = 0; i < xs.size(); i++) {
            Tensor x = xs.get(i);
            requireF32("sumOfSquares", x);
            contents[2 * i] = x.size() == 0 ? 0 : ptr(x);
            contents[2 * i + 1] = x.size();
            total += x.size();
        }
        if (total == 0) return 0;
        long bytes = 8L * contents.length;
        long tp = table.get(bytes);
        if (tp != tablePointer || !Arrays.equals(contents, tableContents)) {
            if (hostTable.byteSize() < bytes) hostTable = arena.allocate(Math.max(bytes, 1024), 8);
            MemorySegment.copy(contents, 0, hostTable, ValueLayout.JAVA_LONG, 0, contents.length);
            api.copyToDevice(hostTable, tp, bytes);
            tablePointer = tp;
            tableContents = contents;
        }
        int blocks = (int) Math.min(SQ_BLOCKS, (total + 255) / 256);
        long part = scratch.get(8L * (blocks + 1)), out = part + 8L * blocks;
        l.args.reset().ptr(tp).i32(xs.size()).ptr(part);
        l.grid(k.sumSquaresMulti, blocks, 1, 256);
        l.args.reset().ptr(part).ptr(out).i32(blocks);
        l.grid(k.sumSquaresFinal, 1, 1, 256);
        return out;
    }

    // ---------------------------------------------------------------- device-side tuning scalars (TuneScalars)

    /** Two fixed-order stages (partials in double, one final block) into out[LOSS]; nothing read back. */
    @Override public void mseLoss(Tensor pred, Tensor target, Tensor out) {
        String op = "mseLoss";
        sameType(op, pred, target);
        sameShape(op, "pred", pred, "target", target);
        requireF32(op, out);
        check(out.size() >= TuneScalars.OUT_SIZE, op + ": out must hold " + TuneScalars.OUT_SIZE + " floats, got " + out);
        check(pred.size() > 0, op + ": empty prediction");
        int blocks = (int) Math.min(SQ_BLOCKS, (pred.size() + 255) / 256);
        long part = scratch.get(8L * (SQ_BLOCKS + 1));  // the sum of squares' size: no growth between them
        l.args.reset().ptr(ptr(pred)).ptr(ptr(target)).ptr(part).i64(pred.size());
        l.grid(k.msePartial(pred.dtype()), blocks, 1, 256);
        l.args.reset().ptr(part).i32(blocks).i64(pred.size()).ptr(ptr(out) + 4L * TuneScalars.LOSS);
        l.grid(k.mseFinal, 1, 1, 256);
    }

    /** The multi-tensor sum of squares, then one thread forms norm, clip, gradScale and the finite flag. */
    @Override public void clipFactors(List<Tensor> grads, Tensor in, float maxNorm, Tensor out) {
        String op = "clipFactors";
        requireF32(op, in, out);
        check(out.size() >= TuneScalars.OUT_SIZE, op + ": out must hold " + TuneScalars.OUT_SIZE + " floats, got " + out);
        long sq = launchSumOfSquares(grads);
        check(sq != 0, op + ": no gradient elements");
        l.args.reset().ptr(sq).ptr(ptr(in)).i32(TuneScalars.SCALE).f32(maxNorm).ptr(ptr(out));
        l.grid(k.tuneClip, 1, 1, 32);
    }

    @Override public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor in, Tensor out, float lr,
                                float beta1, float beta2, float weightDecay, float eps) {
        String op = "adamW";
        checkAdamW(op, param, grad, m, v, 1, beta1, beta2);
        requireF32(op, in, out);
        double lrD = TuneScalars.decimal(lr), b1 = TuneScalars.decimal(beta1), b2 = TuneScalars.decimal(beta2);
        float decay = (float) (1 - lrD * TuneScalars.decimal(weightDecay));
        float w1 = (float) (1 - b1), w2 = (float) (1 - b2);
        l.args.reset().ptr(ptr(param)).ptr(ptr(grad)).ptr(ptr(m)).ptr(ptr(v)).i64(param.size()).ptr(ptr(in))
                .i32(TuneScalars.STEP_SIZE).ptr(ptr(out)).f32(decay).f32(w1).f32(w2).f32((float) b2)
                .f32((float) TuneScalars.decimal(eps)).i32(w1 < 0.5f ? 1 : 0);
        l.elementwise(k.adamWDevice, param.size());
    }

    private static void checkAdamW(String op, Tensor param, Tensor grad, Tensor m, Tensor v, int step, float beta1, float beta2) {
        requireF32(op, param, grad, m, v);
        sameShape(op, "param", param, "grad", grad);
        sameShape(op, "param", param, "m", m);
        sameShape(op, "param", param, "v", v);
        check(step >= 1, op + ": step is 1-based, got " + step);
        check(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, op + ": betas must lie in [0, 1), got " + beta1 + ", " + beta2);
        distinct(op, "m", m, "v", v);
        distinct(op, "param", param, "m", m);
        distinct(op, "param", param, "v", v);
    }

    @Override public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, float gradScale, float lr, float beta1,
                                float beta2, float weightDecay, float eps, int step) {
        String op = "adamW";
        checkAdamW(op, param, grad, m, v, step, beta1, beta2);
        // the scalars as CpuAdamW forms them (hyper-parameters read back as their decimal values, in double)
        double lrD = TuneScalars.decimal(lr), b1 = TuneScalars.decimal(beta1), b2 = TuneScalars.decimal(beta2);
        float decay = (float) (1 - lrD * TuneScalars.decimal(weightDecay));
        float w1 = (float) (1 - b1), w2 = (float) (1 - b2);
        float[] bc = TuneScalars.adamWScalars(lr, beta1, beta2, step);
        l.args.reset().ptr(ptr(param)).ptr(ptr(grad)).ptr(ptr(m)).ptr(ptr(v)).i64(param.size()).f32(gradScale).f32(decay)
                .f32(w1).f32(w2).f32((float) b2).f32(bc[0]).f32(bc[1]).f32((float) TuneScalars.decimal(eps)).i32(w1 < 0.5f ? 1 : 0);
        l.elementwise(k.adamW, param.size());
    }

    @Override public void close() {
        scratch.close();
        stats.close();
        table.close();
        ones.values().forEach(DeviceScratch::close);
        arena.close();
    }
}
