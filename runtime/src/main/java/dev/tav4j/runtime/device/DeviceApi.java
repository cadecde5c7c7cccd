package dev.tav4j.runtime.device;

import java.lang.foreign.MemorySegment;

/**
 * What the CUDA backend needs from a device: memory, copies, kernel launches and GEMM. Two implementations:
 * the real one over the CUDA Driver API and cuBLAS, and an emulated one that runs the same CUDA C++ kernels
 * compiled for the host (host memory as "device" memory), so the whole CUDA backend is exercised in CI
 * without a GPU. Device pointers are plain {@code long} addresses. Calls are ordered on one stream.
 */
public interface DeviceApi extends AutoCloseable {
    /** e.g. "NVIDIA H100 80GB HBM3, sm_90, driver 13.0" or "emulated CUDA on the host". */
    String describe();

    /** The device's name as its driver reports it, e.g. "NVIDIA H100 80GB HBM3" (default: {@link #describe()}). */
    default String name() { return describe(); }

    /** Whether this is the host emulation rather than a GPU. */
    boolean emulated();

    long alloc(long bytes);

    void free(long ptr);

    void copyToDevice(MemorySegment src, long dst, long bytes);

    void copyToHost(long src, MemorySegment dst, long bytes);

    void copyDeviceToDevice(long src, long dst, long bytes);

    void memset(long ptr, int byteValue, long bytes);

    /** A kernel of the tav4j PTX module by its extern "C" name. */
    KernelHandle kernel(String name);

    /**
     * Launches a kernel. {@code kernelParams} is a native array of pointers to each argument value, exactly as
     * cuLaunchKernel takes it.
     */
    void launch(KernelHandle k, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                int sharedBytes, MemorySegment kernelParams);

    /**
     * Row-major strided-batched GEMM with fp32 accumulation: for each batch i,
     * C_i[M,N] = alpha · op(A_i)[M,K] · op(B_i)[K,N] + beta · C_i, element type {@code dtype} for A, B and C.
     * lda/ldb/ldc are row strides in elements; strides between batches in elements.
     */
    void gemm(GemmType dtype, boolean transA, boolean transB, int m, int n, int k, float alpha,
              long a, int lda, long strideA, long b, int ldb, long strideB, float beta,
              long c, int ldc, long strideC, int batch);

    /**
     * As {@link #gemm(GemmType, boolean, boolean, int, int, int, float, long, int, long, long, int, long, float, long, int, long, int)}
     * with A and B of type {@code abType} and C of type {@code cType}: F16 or BF16 inputs into an F32 output (fp32
     * compute; cuBLAS's mixed-precision GEMM), which mixed-precision tuning uses to accumulate half-precision
     * activations into fp32 weight gradients. Equal types are the plain GEMM; other pairs are refused.
     */
    default void gemm(GemmType abType, GemmType cType, boolean transA, boolean transB, int m, int n, int k, float alpha,
                      long a, int lda, long strideA, long b, int ldb, long strideB, float beta,
                      long c, int ldc, long strideC, int batch) {
        if (abType != cType)
            throw new UnsupportedOperationException(describe() + ": no GEMM of " + abType + " inputs into a " + cType + " output");
        gemm(abType, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
    }

    /** Whether {@link #gemm(GemmType, GemmType, boolean, boolean, int, int, int, float, long, int, long, long, int, long, float, long, int, long, int)} takes these types. */
    static boolean mixedGemmSupported(GemmType abType, GemmType cType) {
        return abType == cType || cType == GemmType.F32;
    }

    void synchronize();

    long freeBytes();

    long totalBytes();

    /**
     * The most dynamic shared memory one block may use after opting in (H100: 227 KiB, A100: 163 KiB, most consumer
     * GPUs: 99 KiB). Kernels that need more must not be chosen on this device.
     */
    default int maxSharedBytesPerBlock() { return 227 * 1024; }

    /** Peak bytes of device memory in use since creation or {@link #resetPeakBytes()}; -1 when not tracked. */
    default long peakBytes() { return -1; }

    /** Starts a new peak at what is in use now. */
    default void resetPeakBytes() {}

    // ---- timing events (kernel profiling); ordered on the stream like launches

    /** A new timing event. */
    default long eventCreate() { throw new UnsupportedOperationException(describe() + " has no timing events"); }

    /** Records the event after the work queued so far. */
    default void eventRecord(long event) { throw new UnsupportedOperationException(describe() + " has no timing events"); }

    /** Milliseconds between two recorded events; waits for {@code end}. */
    default float eventElapsedMillis(long start, long end) { throw new UnsupportedOperationException(describe() + " has no timing events"); }

    default void eventDestroy(long event) {}

    // ---- step capture (CUDA graphs); see DeviceGraph

    /**
     * Starts recording instead of running: until {@link #endCapture()}, copies, memsets, launches and GEMMs are
     * recorded, not executed. Inside a capture there is no host synchronisation ({@link #synchronize()},
     * {@link #copyToHost} and {@link #copyToDevice} throw {@link StepCaptureException}) and no fresh device memory:
     * {@link #alloc} is served from blocks the pool already caches or throws {@link StepCaptureException}, so run
     * the step once uncaptured first (that warms the pool).
     */
    default void beginCapture() { throw new UnsupportedOperationException(describe() + " cannot capture steps"); }

    /** Ends the capture begun by {@link #beginCapture()} and returns the replayable graph. */
    default DeviceGraph endCapture() { throw new UnsupportedOperationException(describe() + " cannot capture steps"); }

    /** Ends a capture that failed: nothing recorded is kept, the pool is left as before the capture. Never throws. */
    default void abortCapture() {}

    /** Whether a capture is in progress. */
    default boolean capturing() { return false; }

    @Override void close();

    /** Element types for {@link #gemm}. */
    enum GemmType { F32, F16, BF16 }

    /** An opaque kernel reference (a CUfunction or an emulated entry point). */
    interface KernelHandle {
        String name();
    }
}
