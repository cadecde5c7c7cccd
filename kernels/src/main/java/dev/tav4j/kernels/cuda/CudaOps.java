package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Fusion;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepGraph;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.cuda.DeviceOutOfMemoryException;
import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceApi.KernelHandle;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The CUDA backend, written once against {@link DeviceApi}: the real driver on a GPU, or the host emulation in
 * CI. Every op checks shapes (naming the argument), computes the launch geometry and launches one of the
 * tav4j kernels (plain GEMMs go to {@link DeviceApi#gemm}). Tensors live on {@code Device.CUDA} in
 * {@link DevicePointerStorage}; only the addresses are used here, never host access to them.
 * Not thread-safe: one instance issues work on one stream (the kernel parameter buffer is reused).
 *
 * <p>Precision: tensors this backend allocates and uploads hold {@link #precision()} (F32 by default; BF16 or
 * F16 on request). Host F32 tensors are converted on upload (weights are uploaded once at load, so they live
 * in that type), {@link #download} always returns F32. Every kernel accumulates in fp32, GEMMs run through
 * cuBLAS with fp32 compute, GroupNorm/LayerNorm statistics and the attention softmax are fp32; only storage
 * is half width. All tensors of one op must share one element type.
 */
public final class CudaOps implements Ops, AutoCloseable {
    private static final int EW_THREADS = 256;

    private final DeviceApi api;
    private final String name;
    private final CudaKernels k;
    private final KernelArgs args = new KernelArgs();
    private final DeviceScratch scratch;
    private final Arena stagingArena = Arena.ofShared();
    private MemorySegment staging = MemorySegment.NULL;
    private final int maxGrid;
    private CudaGradOps gradOps;
    private final DType precision;
    private KernelProfiler profiler;  // null when off: a launch then costs one null check more
    private TensorCoreKernels tensorCores;  // BF16/F16 conv2d and attention on tensor cores; null = CUDA-core kernels only
    private final CudaStepOps steps;  // step capture and per-step device inputs
    private boolean fuseResiduals = ResidualFusion.enabledByDefault();  // off: op, then a separate axpby (A/B)

    /** An F32 backend over {@code api}. */
    public CudaOps(DeviceApi api, String name) {
        this(api, name, DType.F32);
    }

    /** A backend over {@code api} storing activations and weights as {@code precision}. */
    public CudaOps(DeviceApi api, String name, DType precision) {
        this.api = api;
        this.name = name;
        this.precision = precision;
        this.k = new CudaKernels(api);
        this.scratch = new DeviceScratch(api);
        this.steps = new CudaStepOps(api);
        // Grid-stride kernels: enough blocks to fill a GPU; few in emulation, where each block costs fibers.
        this.maxGrid = api.emulated() ? 8 : 16384;
        if (TensorCoreKernels.enabledByDefault()) this.tensorCores = new TensorCoreKernels(api);
    }

    /** Turns the tensor-core kernels of BF16/F16 conv2d and attention on or off (A/B checks; default on). */
    void useTensorCores(boolean on) {
        tensorCores = on ? (tensorCores != null ? tensorCores : new TensorCoreKernels(api)) : null;
    }

    boolean tensorCoresOn() { return tensorCores != null; }

    /** Turns the fused residual adds of matmul and conv2d on (default) or off (the unfused sequence, for A/B runs). */
    public void fuseResiduals(boolean on) { fuseResiduals = on; }

    public DeviceApi device() { return api; }

    /** The element type of what {@link #allocate(int...)} and {@link #upload} create. */
    public DType precision() { return precision; }

    /**
     * A backend over the same device storing {@code precision} (this one when it already does). Tensors of
     * either may be passed to the other's {@link #copy} (which converts); other ops need one element type.
     */
    public CudaOps withPrecision(DType precision) {
        return precision == this.precision ? this : new CudaOps(api, name, precision);
    }

    /** Parses "fp32", "bf16", "fp16" (also f32, f16, float32, bfloat16, float16, any case). */
    public static DType parsePrecision(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "fp32", "f32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            case "fp16", "f16", "float16", "half" -> DType.F16;
            default -> throw new IllegalArgumentException("precision must be fp32, bf16 or fp16, got '" + s + "'");
        };
    }

    // ---------------------------------------------------------------- profiling and memory figures

    /**
     * Turns per-kernel timing on (a fresh {@link KernelProfiler}) or off (null). While on, every launch, GEMM
     * and device copy is bracketed by two events; off, nothing is recorded.
     */
    public KernelProfiler profile(boolean on) {
        if (profiler != null) profiler.close();
        profiler = on ? new KernelProfiler(api) : null;
        return profiler;
    }

    /** The profiler in use, or null. */
    public KernelProfiler profiler() { return profiler; }

    @Override public long peakDeviceBytes() { return api.peakBytes(); }

    @Override public void resetPeakDeviceBytes() { api.resetPeakBytes(); }

    @Override public String name() { return name; }

    // ---------------------------------------------------------------- memory

    @Override public Tensor allocate(int... shape) { return allocate(precision, shape); }

    /** A new device tensor of the given element type; contents unspecified. */
    public Tensor allocate(DType dtype, int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        try {
            return new Tensor(new DevicePointerStorage(api, n * dtype.bytes()), 0, dtype, true, shape);
        } catch (DeviceOutOfMemoryException e) {
            throw e.during("for a " + dtype + " tensor " + Arrays.toString(shape));
        }
    }

    @Override public Tensor upload(Tensor host) { return upload(host, precision); }

    @Override public Tensor upload(Tensor host, DType dtype) {
        requireF32("upload: host", host);
        if (!host.isHost()) throw new IllegalArgumentException("upload: tensor " + host + " is not on the host");
        Tensor f32 = allocate(DType.F32, host.shape());
        api.copyToDevice(host.segment(), ptr(f32), host.size() * 4);
        if (dtype == DType.F32) return f32;
        try (f32) {
            return convert(f32, dtype);
        }
    }

    @Override public Tensor download(Tensor t) {
        Tensor src = t.dtype() == DType.F32 ? t : convert(t, DType.F32);
        Tensor host = Tensor.host(t.shape());
        api.copyToHost(ptr(src), host.segment(), t.size() * 4);
        if (src != t) src.close();
        return host;
    }

    /** A new device tensor holding t converted to {@code dtype} (F32 <-> F16/BF16). */
    public Tensor convert(Tensor t, DType dtype) {
        Tensor out = allocate(dtype, t.shape());
        copy(t, out);
        return out;
    }

    @Override public void copy(Tensor src, Tensor dst) {
        if (src.size() != dst.size())
            throw new IllegalArgumentException("copy: " + src.size() + " elements of src " + src + " into " + dst.size() + " of dst");
        if (src.dtype() == dst.dtype()) {
            if (profiler != null) profiler.begin("memcpy_d2d");
            api.copyDeviceToDevice(ptr(src), ptr(dst), src.size() * src.dtype().bytes());
            if (profiler != null) profiler.end();
        } else if (src.dtype() == DType.F32) {
            launch1d(k.of(dst.dtype()).fromF32, src.size(), args.reset().ptr(ptr(src)).ptr(ptr(dst)).i64(src.size()));
        } else if (dst.dtype() == DType.F32) {
            launch1d(k.of(src.dtype()).toF32, src.size(), args.reset().ptr(ptr(src)).ptr(ptr(dst)).i64(src.size()));
        } else {
            throw new IllegalArgumentException("copy: " + src.dtype() + " to " + dst.dtype() + " is not supported (go through F32)");
        }
    }

    // ---------------------------------------------------------------- linear algebra

    @Override public void matmul(Tensor a, Tensor w, Tensor bias, Tensor out) { matmul(a, w, bias, null, out); }

    /**
     * C preloaded with bias (+ residual) in one pass, then the GEMM accumulates with beta = 1: with a residual
     * that is 2 passes over out (bias/residual pass: read residual, write out; GEMM: read and write out) instead
     * of 3 (fill, GEMM, then an axpby reading two tensors and writing one), one launch fewer, and in place
     * (residual == out, no bias) the GEMM alone. Rounding: a·w + (bias + residual) instead of (a·w + bias) +
     * residual; F32 results differ from the unfused sequence by float rounding of that order.
     */
    @Override public void matmul(Tensor a, Tensor w, Tensor bias, Tensor residual, Tensor out) {
        if (residual != null && !fuseResiduals) {
            Ops.super.matmul(a, w, bias, residual, out);
            return;
        }
        if (w.rank() != 2) throw new IllegalArgumentException("matmul: w must be [K, N], got " + Arrays.toString(w.shape()));
        int kk = w.dim(0), n = w.dim(1);
        if (a.dim(-1) != kk) throw new IllegalArgumentException("matmul: a " + Arrays.toString(a.shape()) + " does not end in K = " + kk);
        long m = a.size() / Math.max(kk, 1);
        int[] want = a.shape();
        want[want.length - 1] = n;
        out.requireShape("matmul: out", want);
        sameType("matmul", a, w, out);
        if (bias != null) {
            sameType("matmul", a, bias);
            bias.requireShape("matmul: bias", n);
        }
        float beta = 0f;
        if (residual != null) {
            residual.requireShape("matmul: residual", want);
            sameType("matmul", a, residual);
            boolean inPlace = Fusion.requireResidual("matmul", residual, out, true);
            if (bias != null || !inPlace)
                launch1d(k.of(out.dtype()).fillRowsResidual, m * n,
                        args.reset().ptr(bias == null ? 0 : ptr(bias)).ptr(ptr(residual)).ptr(ptr(out)).i64(m).i32(n));
            beta = 1f;
        } else if (bias != null) {
            launch1d(k.of(out.dtype()).fillRows, m * n, args.reset().ptr(ptr(bias)).ptr(ptr(out)).i64(m).i32(n));
            beta = 1f;
        }
        if (profiler != null) profiler.begin("cublas_gemm_" + CudaKernels.suffix(a.dtype()));
        api.gemm(gemmType(a.dtype()), false, false, Math.toIntExact(m), n, kk, 1f, ptr(a), kk, 0, ptr(w), n, 0,
                beta, ptr(out), n, 0, 1);
        if (profiler != null) profiler.end();
    }

    @Override public void conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly, Tensor out) {
        conv2d(x, w, bias, stride, padding, padBottomRightOnly, null, out);
    }

    /** The residual is added in the conv kernels' epilogue (after the bias, as the unfused sequence): no extra pass. */
    @Override public void conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly,
                                 Tensor residual, Tensor out) {
        if (residual != null && !fuseResiduals) {
            Ops.super.conv2d(x, w, bias, stride, padding, padBottomRightOnly, residual, out);
            return;
        }
        if (x.rank() != 4) throw new IllegalArgumentException("conv2d: x must be [N, H, W, Ci], got " + Arrays.toString(x.shape()));
        if (w.rank() != 4) throw new IllegalArgumentException("conv2d: w must be [kh, kw, Ci, Co], got " + Arrays.toString(w.shape()));
        if (stride < 1 || padding < 0) throw new IllegalArgumentException("conv2d: stride " + stride + ", padding " + padding);
        int n = x.dim(0), h = x.dim(1), wd = x.dim(2), ci = x.dim(3);
        int kh = w.dim(0), kw = w.dim(1), co = w.dim(3);
        if (w.dim(2) != ci) throw new IllegalArgumentException("conv2d: w " + Arrays.toString(w.shape()) + " expects " + w.dim(2) + " input channels, x has " + ci);
        if (padBottomRightOnly && padding != 0)
            throw new IllegalArgumentException("conv2d: padBottomRightOnly needs padding 0, got " + padding);
        int padTop = padBottomRightOnly ? 0 : padding;
        int extra = padBottomRightOnly ? 1 : 2 * padding;
        int ho = (h + extra - kh) / stride + 1, wo = (wd + extra - kw) / stride + 1;
        if (h + extra < kh || wd + extra < kw) throw new IllegalArgumentException("conv2d: kernel " + kh + "x" + kw + " larger than padded input " + Arrays.toString(x.shape()));
        out.requireShape("conv2d: out", n, ho, wo, co);
        if (bias != null) bias.requireShape("conv2d: bias", co);
        sameType("conv2d", x, w, out);
        if (bias != null) sameType("conv2d", x, bias);
        if (residual != null) {
            residual.requireShape("conv2d: residual", n, ho, wo, co);
            sameType("conv2d", x, residual);
            Fusion.requireResidual("conv2d", residual, out, false);
        }
        long m = (long) n * ho * wo;
        long res = residual == null ? 0 : ptr(residual);
        args.reset().ptr(ptr(x)).ptr(ptr(w)).ptr(bias == null ? 0 : ptr(bias)).ptr(res).ptr(ptr(out))
                .i32(n).i32(h).i32(wd).i32(ci).i32(ho).i32(wo).i32(co).i32(kh).i32(kw).i32(stride).i32(padTop).i32(padTop);
        TensorCoreKernels.Launch tc = tensorCores == null ? null
                : tensorCores.conv2d(x.dtype(), m, ci, co, ptr(x), ptr(w), bias == null ? 0 : ptr(bias), res, ptr(out));
        if (tc != null) launch(tc.kernel(), tc.gx(), tc.gy(), tc.threads(), tc.smem());
        else launch(k.of(x.dtype()).conv2d, Math.toIntExact((m + 63) / 64), (co + 63) / 64, 256, 0);
    }

    // ---------------------------------------------------------------- normalisation

    @Override public void groupNorm(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu, Tensor out) {
        if (x.rank() < 2) throw new IllegalArgumentException("groupNorm: x must be [N, ..., C], got " + Arrays.toString(x.shape()));
        int n = x.dim(0), c = x.dim(-1);
        if (groups < 1 || c % groups != 0) throw new IllegalArgumentException("groupNorm: " + c + " channels do not split into " + groups + " groups");
        if (framesPooled < 1 || n % framesPooled != 0) throw new IllegalArgumentException("groupNorm: " + n + " images do not split into videos of " + framesPooled + " frames");
        out.requireShape("groupNorm: out", x.shape());
        gamma.requireShape("groupNorm: gamma", c);
        beta.requireShape("groupNorm: beta", c);
        sameType("groupNorm", x, gamma, beta, out);
        long hw = x.sizeFrom(1) / c;
        int videos = n / framesPooled, vg = videos * groups;
        long groupElems = framesPooled * hw * (c / groups);
        int s = (int) Math.max(1, Math.min(api.emulated() ? 4 : 64, (groupElems + 8191) / 8192));
        long chunk = (groupElems + s - 1) / s;
        long partials = scratch.get((long) vg * s * 3 * 4 + (long) vg * 2 * 4);
        long stats = partials + (long) vg * s * 3 * 4;
        args.reset().ptr(ptr(x)).ptr(partials).i32(c).i32(groups).i64(hw).i32(framesPooled).i64(chunk);
        launch(k.of(x.dtype()).groupNormPartial, s, vg, 256, 0);
        args.reset().ptr(partials).ptr(stats).i32(vg).i32(s).f32(eps);
        launch(k.groupNormFinalize, (vg + 255) / 256, 1, 256, 0);
        args.reset().ptr(ptr(x)).ptr(stats).ptr(ptr(gamma)).ptr(ptr(beta)).ptr(ptr(out)).i64(x.size())
                .i32(c).i32(groups).i64(hw).i32(framesPooled).i32(silu ? 1 : 0);
        launch1d(k.of(x.dtype()).groupNormApply, x.size(), args);
    }

    @Override public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        int c = x.dim(-1);
        out.requireShape("layerNorm: out", x.shape());
        gamma.requireShape("layerNorm: gamma", c);
        beta.requireShape("layerNorm: beta", c);
        sameType("layerNorm", x, gamma, beta, out);
        long rows = x.size() / Math.max(c, 1);
        args.reset().ptr(ptr(x)).ptr(ptr(gamma)).ptr(ptr(beta)).ptr(ptr(out)).i64(rows).i32(c).f32(eps);
        launch(k.of(x.dtype()).layerNorm, Math.toIntExact((rows + 3) / 4), 1, 128, 0);
    }

    // ---------------------------------------------------------------- attention

    @Override public void attention(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor kt, Tensor v, Tensor out) {
        if (q.rank() != 3) throw new IllegalArgumentException("attention: q must be [N, L, C], got " + Arrays.toString(q.shape()));
        int n = q.dim(0), l = q.dim(1), c = q.dim(2);
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
        if ((kind == AttentionKind.CAUSAL || kind == AttentionKind.TEMPORAL) && lk != l)
            throw new IllegalArgumentException("attention " + kind + ": k has " + lk + " tokens, q has " + l);
        if (kind == AttentionKind.TEMPORAL) {
            long queries = (long) n * l * heads;
            args.reset().ptr(ptr(q)).ptr(ptr(kt)).ptr(ptr(v)).ptr(ptr(out)).i32(frames).i32(heads).i32(d).i32(n).i32(l).i32(c).f32(scale);
            launch(k.of(q.dtype()).attentionTemporal(d), Math.toIntExact((queries + 31) / 32), 1, 128, 0);
            return;
        }
        int code = switch (kind) {
            case SELF -> 0;
            case CAUSAL -> 1;
            case SPARSE_CAUSAL -> 2;
            case CROSS -> 3;
            case TEMPORAL -> throw new AssertionError();
        };
        int nkeys = kind == AttentionKind.SPARSE_CAUSAL ? 2 * lk : lk;
        long gy = (long) n * heads;
        if (gy > 65535) throw new IllegalArgumentException("attention: images x heads = " + gy + " exceeds the grid limit 65535");
        args.reset().ptr(ptr(q)).ptr(ptr(kt)).ptr(ptr(v)).ptr(ptr(out)).i32(code).i32(Math.max(frames, 1)).i32(heads)
                .i32(d).i32(l).i32(lk).i32(nkeys).i32(c).f32(scale);
        TensorCoreKernels.Launch tc = tensorCores == null ? null
                : tensorCores.attention(q.dtype(), kind, n, heads, d, l, ptr(q), ptr(kt), ptr(v), ptr(out));
        if (tc != null) launch(tc.kernel(), tc.gx(), tc.gy(), tc.threads(), tc.smem());
        else launch(k.of(q.dtype()).attention(d), (l + 31) / 32, (int) gy, 128, 0);
    }

    // ---------------------------------------------------------------- element-wise

    @Override public void geglu(Tensor x, Tensor out) {
        int d2 = x.dim(-1);
        if (d2 % 2 != 0) throw new IllegalArgumentException("geglu: last dimension " + d2 + " of x is odd");
        int[] want = x.shape();
        want[want.length - 1] = d2 / 2;
        out.requireShape("geglu: out", want);
        sameType("geglu", x, out);
        long rows = x.size() / Math.max(d2, 1);
        launch1d(k.of(x.dtype()).geglu, out.size(), args.reset().ptr(ptr(x)).ptr(ptr(out)).i64(rows).i32(d2 / 2));
    }

    @Override public void activation(Activation act, Tensor x, Tensor out) {
        out.requireShape("activation: out", x.shape());
        sameType("activation", x, out);
        launch1d(k.of(x.dtype()).activation, x.size(), args.reset().ptr(ptr(x)).ptr(ptr(out)).i32(act.ordinal()).i64(x.size()));
    }

    @Override public void upsampleNearest(Tensor x, Tensor out) {
        if (x.rank() != 4 || out.rank() != 4 || x.dim(0) != out.dim(0) || x.dim(3) != out.dim(3))
            throw new IllegalArgumentException("upsampleNearest: x " + Arrays.toString(x.shape()) + " and out " + Arrays.toString(out.shape()) + " must be [N, H, W, C] with equal N and C");
        sameType("upsampleNearest", x, out);
        args.reset().ptr(ptr(x)).ptr(ptr(out)).i32(x.dim(0)).i32(x.dim(1)).i32(x.dim(2)).i32(x.dim(3)).i32(out.dim(1)).i32(out.dim(2));
        launch1d(k.of(x.dtype()).upsampleNearest, out.size(), args);
    }

    @Override public void timestepEmbedding(float[] timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out) {
        out.requireShape("timestepEmbedding: out", timesteps.length, dim);

        long dev = scratch.get(4L * timesteps.length);
        MemorySegment host = staging(4L * timesteps.length);
        MemorySegment.copy(timesteps, 0, host, ValueLayout.JAVA_FLOAT, 0, timesteps.length);
        api.copyToDevice(host, dev, 4L * timesteps.length);
        args.reset().ptr(dev).ptr(ptr(out)).i32(timesteps.length).i32(dim).i32(flipSinToCos ? 1 : 0).f32(downscaleFreqShift);
        launch1d(k.of(out.dtype()).timestepEmbedding, out.size(), args);
    }

    @Override public void axpby(float a, Tensor x, float b, Tensor y, Tensor out) {
        if (x.size() != y.size() || x.size() != out.size())
            throw new IllegalArgumentException("axpby: x " + Arrays.toString(x.shape()) + ", y " + Arrays.toString(y.shape()) + ", out " + Arrays.toString(out.shape()) + " differ in size");
        sameType("axpby", x, y, out);
        launch1d(k.of(x.dtype()).axpby, x.size(), args.reset().ptr(ptr(x)).ptr(ptr(y)).ptr(ptr(out)).f32(a).f32(b).i64(x.size()));
    }

    /** One deterministic DDIM step (eta 0) fused: x0 = (x − √(1−ᾱ)·ε)/√ᾱ, out = √ᾱ'·x0 + √(1−ᾱ')·ε. out may alias x. */
    public void ddimStep(Tensor x, Tensor eps, float alpha, float alphaPrev, Tensor out) {
        if (x.size() != eps.size() || x.size() != out.size())
            throw new IllegalArgumentException("ddimStep: x " + Arrays.toString(x.shape()) + ", eps " + Arrays.toString(eps.shape()) + ", out " + Arrays.toString(out.shape()) + " differ in size");
        sameType("ddimStep", x, eps, out);
        args.reset().ptr(ptr(x)).ptr(ptr(eps)).ptr(ptr(out)).i64(x.size())
                .f32((float) Math.sqrt(alpha)).f32((float) Math.sqrt(1 - alpha)).f32((float) Math.sqrt(alphaPrev)).f32((float) Math.sqrt(1 - alphaPrev));
        launch1d(k.of(x.dtype()).ddimStep, x.size(), args);
    }

    @Override public void addChannelBias(Tensor x, Tensor rows, int repeat, Tensor out) {
        if (x.rank() < 2) throw new IllegalArgumentException("addChannelBias: x must be [N, ..., C], got " + Arrays.toString(x.shape()));
        int n = x.dim(0), c = x.dim(-1);
        if (repeat < 1 || n % repeat != 0) throw new IllegalArgumentException("addChannelBias: " + n + " images do not split by repeat " + repeat);
        rows.requireShape("addChannelBias: rows", n / repeat, c);
        out.requireShape("addChannelBias: out", x.shape());
        sameType("addChannelBias", x, rows, out);
        args.reset().ptr(ptr(x)).ptr(ptr(rows)).ptr(ptr(out)).i64(x.size()).i32(c).i64(x.sizeFrom(1)).i32(repeat);
        launch1d(k.of(x.dtype()).addChannelBias, x.size(), args);
    }

    @Override public void concatChannels(Tensor a, Tensor b, Tensor out) {
        int ca = a.dim(-1), cb = b.dim(-1);
        int[] lead = Arrays.copyOf(a.shape(), a.rank() - 1);
        if (!Arrays.equals(lead, Arrays.copyOf(b.shape(), b.rank() - 1)))
            throw new IllegalArgumentException("concatChannels: a " + Arrays.toString(a.shape()) + " and b " + Arrays.toString(b.shape()) + " differ before the last dimension");
        int[] want = a.shape();
        want[want.length - 1] = ca + cb;
        out.requireShape("concatChannels: out", want);
        sameType("concatChannels", a, b, out);
        long pixels = a.size() / Math.max(ca, 1);
        launch1d(k.of(a.dtype()).concatChannels, out.size(), args.reset().ptr(ptr(a)).ptr(ptr(b)).ptr(ptr(out)).i64(pixels).i32(ca).i32(cb));
    }

    @Override public void permute(Tensor x, int[] perm, Tensor out) {
        int r = x.rank();
        if (perm.length != r || r > 6) throw new IllegalArgumentException("permute: perm " + Arrays.toString(perm) + " for rank " + r + " (at most 6)");
        boolean[] seen = new boolean[r];
        int[] want = new int[r];
        long[] stride = new long[r];
        for (int i = r - 1, s = 1; i >= 0; i--) { stride[i] = s; s *= x.dim(i); }
        for (int i = 0; i < r; i++) {
            if (perm[i] < 0 || perm[i] >= r || seen[perm[i]]) throw new IllegalArgumentException("permute: " + Arrays.toString(perm) + " is not a permutation");
            seen[perm[i]] = true;
            want[i] = x.dim(perm[i]);
        }
        out.requireShape("permute: out", want);
        sameType("permute", x, out);
        args.reset().ptr(ptr(x)).ptr(ptr(out)).i64(x.size());
        for (int i = 0; i < 6 - r; i++) args.i32(1);
        for (int i = 0; i < r; i++) args.i32(want[i]);
        for (int i = 0; i < 6 - r; i++) args.i64(0);
        for (int i = 0; i < r; i++) args.i64(stride[perm[i]]);
        launch1d(k.of(x.dtype()).permute, x.size(), args);
    }

    @Override public void gatherRows(Tensor table, int[] ids, Tensor out) {
        if (table.rank() != 2) throw new IllegalArgumentException("gatherRows: table must be [V, D], got " + Arrays.toString(table.shape()));
        int vocab = table.dim(0), d = table.dim(1);
        out.requireShape("gatherRows: out", ids.length, d);
        sameType("gatherRows", table, out);
        for (int i = 0; i < ids.length; i++)
            if (ids[i] < 0 || ids[i] >= vocab) throw new IllegalArgumentException("gatherRows: id " + ids[i] + " at " + i + " outside the table of " + vocab + " rows");
        long dev = scratch.get(4L * Math.max(ids.length, 1));
        MemorySegment host = staging(4L * ids.length);
        MemorySegment.copy(ids, 0, host, ValueLayout.JAVA_INT, 0, ids.length);
        api.copyToDevice(host, dev, 4L * ids.length);
        launch1d(k.of(table.dtype()).gatherRows, out.size(), args.reset().ptr(ptr(table)).ptr(dev).ptr(ptr(out)).i64(ids.length).i32(d));
    }

    @Override public void synchronize() { api.synchronize(); }

    // ---------------------------------------------------------------- step capture (CudaStepOps)

    /** Captures the step into a CUDA graph (emulation: a recorded launch list); see {@link Ops#record}. */
    @Override public StepGraph record(Runnable step) { return steps.record(step); }

    @Override public boolean capturesSteps() { return true; }

    @Override public Tensor allocateF32(int... shape) { return allocate(DType.F32, shape); }

    @Override public void write(float[] values, Tensor dst) { steps.write(values, dst); }

    @Override public void timestepEmbedding(Tensor timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out) {
        steps.timestepEmbedding(timesteps, dim, flipSinToCos, downscaleFreqShift, out);
    }

    @Override public void axpby(Tensor ab, Tensor x, Tensor y, Tensor out) { steps.axpby(ab, x, y, out); }

    /** The backward ops on this backend's device and stream, created on first use. */
    @Override public synchronized GradOps grad() {
        if (gradOps == null) gradOps = new CudaGradOps(api);
        return gradOps;
    }

    @Override public void close() {
        if (gradOps != null) gradOps.close();
        if (profiler != null) profiler.close();
        profiler = null;
        scratch.close();
        steps.close();
        args.close();
        stagingArena.close();
    }

    // ---------------------------------------------------------------- helpers

    private void launch(KernelHandle kh, int gx, int gy, int threads, int smem) {
        if (gx == 0 || gy == 0) return;  // empty tensors
        if (profiler != null) profiler.begin(kh.name());
        api.launch(kh, gx, gy, 1, threads, 1, 1, smem, args.array());
        if (profiler != null) profiler.end();
    }

    private void launch1d(KernelHandle kh, long n, KernelArgs a) {
        if (n == 0) return;
        int grid = (int) Math.min(maxGrid, (n + EW_THREADS - 1) / EW_THREADS);
        if (profiler != null) profiler.begin(kh.name());
        api.launch(kh, grid, 1, 1, EW_THREADS, 1, 1, 0, a.array());
        if (profiler != null) profiler.end();
    }

    private MemorySegment staging(long bytes) {
        if (staging.byteSize() < bytes) staging = stagingArena.allocate(Math.max(bytes, 4096), 8);
        return staging;
    }

    /** The device address of a tensor's first element. */
    static long ptr(Tensor t) {
        if (!(t.storage() instanceof DevicePointerStorage s))
            throw new IllegalArgumentException("tensor " + t + " is not a CUDA tensor of this backend");
        return s.pointer() + t.byteOffset();
    }

    private static void requireF32(String op, Tensor... ts) {
        for (Tensor t : ts)
            if (t.dtype() != DType.F32) throw new IllegalArgumentException(op + ": tensor " + t + " must be F32 (this kernel has no " + t.dtype() + " variant)");
    }

    private static void sameType(String op, Tensor... ts) {
        for (Tensor t : ts)
            if (t.dtype() != ts[0].dtype()) throw new IllegalArgumentException(op + ": mixed element types " + ts[0].dtype() + " and " + t.dtype());
    }

    private static DeviceApi.GemmType gemmType(DType t) {
        return switch (t) {
            case F32 -> DeviceApi.GemmType.F32;
            case F16 -> DeviceApi.GemmType.F16;
            case BF16 -> DeviceApi.GemmType.BF16;
        };
    }
}
