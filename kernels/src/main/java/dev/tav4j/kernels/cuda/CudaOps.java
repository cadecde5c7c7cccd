package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.DeviceInfo;
import dev.tav4j.runtime.DeviceOutOfMemoryException;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.KernelCheck;
import dev.tav4j.runtime.KernelTiming;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepGraph;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.device.DeviceApi;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The CUDA backend, written once against {@link DeviceApi}: the real driver on a GPU, or the host emulation in
 * CI. This class holds memory (allocation, upload, download, conversion), step capture and the switches; the ops
 * live in one class per kernel family — {@link CudaLinear} (matmul, conv2d), {@link CudaNorm}, {@link
 * CudaAttention}, {@link CudaPointwise} — over one {@link CudaLaunch} (parameter buffer, geometry, profiler).
 * Every op checks shapes (naming the argument) and launches one of the tav4j kernels (plain GEMMs go to
 * {@link DeviceApi#gemm}). Tensors live on {@code Device.CUDA} in {@link DevicePointerStorage}; only the
 * addresses are used here, never host access to them. Not thread-safe: one instance issues work on one stream
 * (the kernel parameter buffer is reused).
 *
 * <p>Precision: tensors this backend allocates and uploads hold {@link #precision()} (F32 by default; BF16 or
 * F16 on request). Host F32 tensors are converted on upload (weights are uploaded once at load, so they live
 * in that type), {@link #download} always returns F32. Every kernel accumulates in fp32, GEMMs run through
 * cuBLAS with fp32 compute, GroupNorm/LayerNorm statistics and the attention softmax are fp32; only storage
 * is half width. All tensors of one op must share one element type.
 *
 * <p>Switches come in one value, {@link BackendSettings}: precision, tensor cores (forward and backward), fused
 * residuals, CUDA graphs ({@link #settings()} tells the layers above). Nothing here reads system properties.
 */
public final class CudaOps implements Ops, AutoCloseable {
    private final DeviceApi api;
    private final String name;
    private final DType precision;
    private final BackendSettings settings;
    private final CudaLaunch l;
    private final CudaLinear linear;
    private final CudaNorm norm;
    private final CudaAttention attention;
    private final CudaPointwise pointwise;
    private final CudaStepOps steps;  // step capture and per-step device inputs
    private CudaGradOps gradOps;
    private boolean fuseResiduals;  // off: op, then a separate axpby (A/B)

    /** An F32 backend over {@code api} with the default settings. */
    public CudaOps(DeviceApi api, String name) {
        this(api, name, BackendSettings.DEFAULTS);
    }

    /** A backend over {@code api} storing activations and weights as {@code precision}, other settings the defaults. */
    public CudaOps(DeviceApi api, String name, DType precision) {
        this(api, name, BackendSettings.DEFAULTS.withPrecision(precision));
    }

    /** A backend over {@code api} set up by {@code settings} (precision, tensor cores, fused residuals, CUDA graphs). */
    public CudaOps(DeviceApi api, String name, BackendSettings settings) {
        this.api = api;
        this.name = name;
        this.settings = settings;
        this.precision = settings.precision();
        this.fuseResiduals = settings.fuseResiduals();
        this.l = new CudaLaunch(api, settings.tensorCores());
        this.linear = new CudaLinear(l);
        this.norm = new CudaNorm(l);
        this.attention = new CudaAttention(l);
        this.pointwise = new CudaPointwise(l);
        this.steps = new CudaStepOps(api);
    }

    /**
     * Turns the tensor-core kernels of BF16/F16 conv2d and attention, forward and backward, on or off on this instance
     * (tests' and the self-check's A/B; a run's switch is {@link BackendSettings#tensorCores()}).
     */
    void useTensorCores(boolean on) {
        l.tensorCores = on ? (l.tensorCores != null ? l.tensorCores : new TensorCoreKernels(api)) : null;
        if (gradOps != null) gradOps.useTensorCores(on);
    }

    boolean tensorCoresOn() { return l.tensorCores != null; }

    /**
     * Switches one tensor-core family off on this backend (and on those {@link #withPrecision} makes from it): its ops
     * take the CUDA-core fallback. The GPU self-check does this for a family that failed on this device.
     */
    public void disableTensorCores(TensorCoreFamily family) { l.tensorCoresOff.add(family); }

    /** Turns a family switched off by {@link #disableTensorCores} on again. */
    public void enableTensorCores(TensorCoreFamily family) { l.tensorCoresOff.remove(family); }

    /** The tensor-core families switched off one by one. */
    public java.util.Set<TensorCoreFamily> tensorCoresOff() { return java.util.Collections.unmodifiableSet(l.tensorCoresOff); }

    /**
     * Turns the fused residual adds of matmul and conv2d on or off on this instance (tests' A/B; a run's switch is
     * {@link BackendSettings#fuseResiduals()}).
     */
    public void fuseResiduals(boolean on) { fuseResiduals = on; }

    public DeviceApi device() { return api; }

    /** The element type of what {@link #allocate(int...)} and {@link #upload} create. */
    @Override public DType precision() { return precision; }

    @Override public BackendSettings settings() { return settings; }

    @Override public DeviceInfo deviceInfo() {
        return new DeviceInfo(api.name(), api.describe(), api.totalBytes(), api.emulated());
    }

    @Override public Optional<KernelTiming> kernelTiming() {
        return Optional.of(new KernelTiming() {
            @Override public void start() { profile(true); }

            @Override public List<Entry> stop() {
                KernelProfiler p = l.profiler;
                if (p == null) return List.of();
                List<Entry> out = p.entries().stream().map(e -> new Entry(e.name(), e.calls(), e.totalMillis())).toList();
                profile(false);
                return out;
            }

            @Override public boolean running() { return l.profiler != null; }
        });
    }

    @Override public Optional<KernelCheck> kernelCheck() { return Optional.of(new CudaKernelCheck(this)); }

    /**
     * A backend over the same device storing {@code precision} (this one when it already does). Tensors of
     * either may be passed to the other's {@link #copy} (which converts); other ops need one element type.
     */
    public CudaOps withPrecision(DType precision) {
        if (precision == this.precision) return this;
        CudaOps o = new CudaOps(api, name, settings.withPrecision(precision));
        o.l.tensorCoresOff.addAll(l.tensorCoresOff);  // a family the self-check switched off stays off
        return o;
    }

    /** Parses "fp32", "bf16", "fp16" (also f32, f16, float32, bfloat16, float16, any case): {@link BackendSettings#parsePrecision}. */
    public static DType parsePrecision(String s) {
        return BackendSettings.parsePrecision(s);
    }

    // ---------------------------------------------------------------- profiling and memory figures

    /**
     * Turns per-kernel timing on (a fresh {@link KernelProfiler}) or off (null). While on, every launch, GEMM
     * and device copy is bracketed by two events; off, nothing is recorded.
     */
    public KernelProfiler profile(boolean on) {
        if (l.profiler != null) l.profiler.close();
        l.profiler = on ? new KernelProfiler(api) : null;
        return l.profiler;
    }

    /** The profiler in use, or null. */
    public KernelProfiler profiler() { return l.profiler; }

    @Override public long peakDeviceBytes() { return api.peakBytes(); }

    @Override public void resetPeakDeviceBytes() { api.resetPeakBytes(); }

    @Override public long freeDeviceBytes() { return api.freeBytes(); }

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
        CudaLaunch.requireF32("upload: host", host);
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
            l.copy(ptr(src), ptr(dst), src.size() * src.dtype().bytes());
        } else if (src.dtype() == DType.F32) {
            l.elementwise(l.kernels.of(dst.dtype()).fromF32, src.size(), l.args.reset().ptr(ptr(src)).ptr(ptr(dst)).i64(src.size()));
        } else if (dst.dtype() == DType.F32) {
            l.elementwise(l.kernels.of(src.dtype()).toF32, src.size(), l.args.reset().ptr(ptr(src)).ptr(ptr(dst)).i64(src.size()));
        } else {
            throw new IllegalArgumentException("copy: " + src.dtype() + " to " + dst.dtype() + " is not supported (go through F32)");
        }
    }

    // ---------------------------------------------------------------- ops, one family each

    @Override public void matmul(Tensor a, Tensor w, Tensor bias, Tensor out) { linear.matmul(a, w, bias, null, out); }

    /** Fused bias + residual (see {@link CudaLinear#matmul}); with fusion off, the unfused sequence of {@link Ops}. */
    @Override public void matmul(Tensor a, Tensor w, Tensor bias, Tensor residual, Tensor out) {
        if (residual != null && !fuseResiduals) Ops.super.matmul(a, w, bias, residual, out);
        else linear.matmul(a, w, bias, residual, out);
    }

    @Override public void conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly, Tensor out) {
        linear.conv2d(x, w, bias, stride, padding, padBottomRightOnly, null, out);
    }

    /** The residual is added in the conv epilogue; with fusion off, the unfused sequence of {@link Ops}. */
    @Override public void conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly,
                                 Tensor residual, Tensor out) {
        if (residual != null && !fuseResiduals) Ops.super.conv2d(x, w, bias, stride, padding, padBottomRightOnly, residual, out);
        else linear.conv2d(x, w, bias, stride, padding, padBottomRightOnly, residual, out);
    }

    @Override public void groupNorm(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu, Tensor out) {
        norm.groupNorm(x, groups, framesPooled, gamma, beta, eps, silu, out);
    }

    @Override public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        norm.layerNorm(x, gamma, beta, eps, out);
    }

    @Override public void attention(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor kt, Tensor v, Tensor out) {
        attention.attention(kind, frames, heads, scale, q, kt, v, out);
    }

    @Override public void geglu(Tensor x, Tensor out) { pointwise.geglu(x, out); }

    @Override public void activation(Activation act, Tensor x, Tensor out) { pointwise.activation(act, x, out); }

    @Override public void upsampleNearest(Tensor x, Tensor out) { pointwise.upsampleNearest(x, out); }

    @Override public void timestepEmbedding(float[] timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out) {
        pointwise.timestepEmbedding(timesteps, dim, flipSinToCos, downscaleFreqShift, out);
    }

    @Override public void axpby(float a, Tensor x, float b, Tensor y, Tensor out) { pointwise.axpby(a, x, b, y, out); }

    /** One deterministic DDIM step (eta 0) fused: x0 = (x − √(1−ᾱ)·ε)/√ᾱ, out = √ᾱ'·x0 + √(1−ᾱ')·ε. out may alias x. */
    public void ddimStep(Tensor x, Tensor eps, float alpha, float alphaPrev, Tensor out) { pointwise.ddimStep(x, eps, alpha, alphaPrev, out); }

    @Override public void addChannelBias(Tensor x, Tensor rows, int repeat, Tensor out) { pointwise.addChannelBias(x, rows, repeat, out); }

    @Override public void concatChannels(Tensor a, Tensor b, Tensor out) { pointwise.concatChannels(a, b, out); }

    @Override public void splitChannels(Tensor x, Tensor a, Tensor b) { grad().splitChannels(x, a, b); }

    @Override public void mul(Tensor x, Tensor y, Tensor out) { pointwise.mul(x, y, out); }

    @Override public void sum(Tensor x, Tensor out) { pointwise.sum(x, out); }

    @Override public void fill(float value, Tensor out) { pointwise.fill(value, out); }

    @Override public void fill(Tensor value, Tensor out) { pointwise.fill(value, out); }

    @Override public void permute(Tensor x, int[] perm, Tensor out) { pointwise.permute(x, perm, out); }

    @Override public void gatherRows(Tensor table, int[] ids, Tensor out) { pointwise.gatherRows(table, ids, out); }

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
        if (gradOps == null) {
            gradOps = new CudaGradOps(l);  // the same launch plumbing: its work shows in this backend's profiler
            gradOps.useTensorCores(l.tensorCores != null && settings.tensorCoresBackward());
        }
        return gradOps;
    }

    @Override public void close() {
        if (gradOps != null) gradOps.close();
        norm.close();
        pointwise.close();
        steps.close();
        l.close();
    }

    /** The device address of a tensor's first element. */
    static long ptr(Tensor t) {
        return CudaLaunch.ptr(t);
    }
}
