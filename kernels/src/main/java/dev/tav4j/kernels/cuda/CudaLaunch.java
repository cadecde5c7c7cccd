package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.device.DeviceApi;

/**
 * What the op families of {@link CudaOps} and its backward ops ({@link CudaGradOps}) share: one reusable kernel
 * parameter buffer, the launch
 * geometry (grid-stride kernels get enough blocks to fill a GPU, few in emulation where each block costs fibers),
 * the profiler bracket around every launch, GEMM and copy, which kernel families are on (tensor cores, fused
 * residuals), and the argument checks. Not thread-safe: one per backend, on its stream.
 */
final class CudaLaunch implements AutoCloseable {
    static final int EW_THREADS = 256;

    final DeviceApi api;
    final CudaKernels kernels;
    final KernelArgs args = new KernelArgs();
    private final int maxGrid;
    /** Null when off: a launch then costs one null check more. */
    KernelProfiler profiler;
    /** BF16/F16 conv2d and attention on tensor cores; null = CUDA-core kernels only. */
    TensorCoreKernels tensorCores;
    /** Tensor-core families switched off one by one (the self-check does, for a family that failed): they take their fallback. */
    final java.util.EnumSet<TensorCoreFamily> tensorCoresOff = java.util.EnumSet.noneOf(TensorCoreFamily.class);

    /** With the tensor-core kernels on. */
    CudaLaunch(DeviceApi api) {
        this(api, true);
    }

    /** {@code tensorCores}: BF16/F16 conv2d and attention on tensor cores ({@code BackendSettings.tensorCores()}). */
    CudaLaunch(DeviceApi api, boolean tensorCores) {
        this.api = api;
        this.kernels = new CudaKernels(api);
        this.maxGrid = api.emulated() ? 8 : 16384;
        if (tensorCores) this.tensorCores = new TensorCoreKernels(api);
    }

    /** Whether family {@code f} may run on tensor cores (not switched off on its own). */
    boolean tensorCores(TensorCoreFamily f) {
        return !tensorCoresOff.contains(f);
    }

    /** Launches {@code kh} on a 2D grid with the arguments in {@link #args}; an empty grid launches nothing. */
    void grid(Kernel kh, int gx, int gy, int threads) {
        grid(kh, gx, gy, threads, 0);
    }

    /** The same with {@code smem} bytes of dynamic shared memory (the device opts in above 48 KiB). */
    void grid(Kernel kh, int gx, int gy, int threads, int smem) {
        if (gx == 0 || gy == 0) return;
        if (gy > 65535) throw new IllegalArgumentException(kh.name() + ": grid y " + gy + " exceeds the limit 65535");
        kh.check(args);
        begin(kh.name());
        api.launch(kh.handle, gx, gy, 1, threads, 1, 1, smem, args.array());
        end();
    }

    /** Launches one of {@link TensorCoreKernels}' launches with the arguments in {@link #args}. */
    void grid(TensorCoreKernels.Launch tc) {
        grid(tc.kernel(), tc.gx(), tc.gy(), tc.threads(), tc.smem());
    }

    /** Launches a grid-stride kernel over n elements with the arguments in {@code a} (the forward ops pass {@link #args}). */
    void elementwise(Kernel kh, long n, KernelArgs a) {
        if (n == 0) return;
        int blocks = (int) Math.min(maxGrid, (n + EW_THREADS - 1) / EW_THREADS);
        kh.check(a);
        begin(kh.name());
        api.launch(kh.handle, blocks, 1, 1, EW_THREADS, 1, 1, 0, a.array());
        end();
    }

    /** The same with the arguments in {@link #args}. */
    void elementwise(Kernel kh, long n) {
        elementwise(kh, n, args);
    }

    /** A row-major GEMM (cuBLAS on a GPU) in the profiler's bracket: out = alpha·a·w + beta·out. */
    void gemm(DType t, int m, int n, int k, long a, long w, float beta, long out) {
        begin("cublas_gemm_" + CudaKernels.suffix(t));
        api.gemm(gemmType(t), false, false, m, n, k, 1f, a, k, 0, w, n, 0, beta, out, n, 0, 1);
        end();
    }

    /** A device-to-device copy in the profiler's bracket. */
    void copy(long src, long dst, long bytes) {
        begin("memcpy_d2d");
        api.copyDeviceToDevice(src, dst, bytes);
        end();
    }

    /** Opens the profiler's bracket around work queued until {@link #end()} (nothing when profiling is off). */
    void begin(String name) {
        if (profiler != null) profiler.begin(name);
    }

    void end() {
        if (profiler != null) profiler.end();
    }

    /** The device address of a tensor's first element. */
    static long ptr(Tensor t) {
        if (!(t.storage() instanceof DevicePointerStorage s))
            throw new IllegalArgumentException("tensor " + t + " is not a CUDA tensor of this backend");
        return s.pointer() + t.byteOffset();
    }

    /** The device address of a tensor, or 0 (the kernels' "none") for null. */
    static long ptrOrNull(Tensor t) {
        return t == null ? 0 : ptr(t);
    }

    static void sameType(String op, Tensor... ts) {
        for (Tensor t : ts)
            if (t.dtype() != ts[0].dtype()) throw new IllegalArgumentException(op + ": mixed element types " + ts[0].dtype() + " and " + t.dtype());
    }

    static void requireF32(String op, Tensor... ts) {
        for (Tensor t : ts)
            if (t.dtype() != DType.F32) throw new IllegalArgumentException(op + ": tensor " + t + " must be F32 (this kernel has no " + t.dtype() + " variant)");
    }

    static DeviceApi.GemmType gemmType(DType t) {
        return switch (t) {
            case F32 -> DeviceApi.GemmType.F32;
            case F16 -> DeviceApi.GemmType.F16;
            case BF16 -> DeviceApi.GemmType.BF16;
        };
    }

    @Override public void close() {
        if (profiler != null) profiler.close();
        profiler = null;
        args.close();
    }
}
