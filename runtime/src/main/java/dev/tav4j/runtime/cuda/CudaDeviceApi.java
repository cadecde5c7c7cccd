package dev.tav4j.runtime.cuda;

import dev.tav4j.runtime.device.Bytes;
import dev.tav4j.bindings.cuda.CuDriver;
import dev.tav4j.bindings.cuda.CuMemory;
import dev.tav4j.bindings.cuda.CuStream;
import dev.tav4j.bindings.cuda.Cublas;
import dev.tav4j.bindings.cuda.CudaException;
import dev.tav4j.bindings.cuda.CublasGemm;
import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DevicePool;
import dev.tav4j.runtime.device.DeviceGraph;
import dev.tav4j.runtime.device.StepCaptureException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link DeviceApi} on a real GPU: the device's primary context, one non-blocking stream that every copy,
 * memset, launch and GEMM is ordered on, a cuBLAS handle bound to that stream, the kernel module JIT-compiled
 * from PTX, and a {@link DevicePool} behind {@link #alloc}/{@link #free}. The context is made current on each
 * calling thread on first use.
 */
public final class CudaDeviceApi implements DeviceApi {
    /** Where the kernels module ships its PTX. */
    public static final String DEFAULT_PTX_RESOURCE = "/dev/tav4j/kernels/tav4j.ptx.gz";
    private static final int DEFAULT_SHARED_LIMIT = 48 * 1024;

    private final int device;
    private final long context;
    private final long stream;
    private final long cublas;
    private final CublasGemm gemm;
    private final long module;
    private final String moduleName;
    private final DevicePool pool;
    private final String description;
    private final String name;
    private final int maxSharedBytes;
    private final ThreadLocal<Boolean> current = new ThreadLocal<>();
    private final ConcurrentHashMap<String, Kernel> kernels = new ConcurrentHashMap<>();
    private volatile boolean closed;
    private volatile boolean capturing;

    /** A CUfunction with the dynamic shared memory limit set on it so far. */
    private static final class Kernel implements KernelHandle {
        final String name;
        final long function;
        volatile int sharedLimit = DEFAULT_SHARED_LIMIT;

        Kernel(String name, long function) { this.name = name; this.function = function; }

        @Override public String name() { return name; }
    }

    /** Device 0 with the PTX at classpath resource {@code ptxResource} (e.g. {@link #DEFAULT_PTX_RESOURCE}). */
    public static CudaDeviceApi open(String ptxResource) {
        return new CudaDeviceApi(0, readResource(ptxResource), ptxResource, false);
    }

    /**
     * @param ptx the module image, or null for no module (memory and GEMM only)
     * @param allowTf32 let F32 GEMMs use TF32 tensor cores (about 10 mantissa bits); off for parity with the CPU
     */
    public CudaDeviceApi(int ordinal, byte[] ptx, String ptxName, boolean allowTf32) {
        CuDriver.init();
        this.device = CuDriver.device(ordinal);
        this.context = CuDriver.primaryContextRetain(device);
        long s = 0, h = 0, m = 0;
        CublasGemm g = null;
        try {
            CuDriver.setCurrentContext(context);
            current.set(Boolean.TRUE);
            s = CuStream.create(CuStream.STREAM_NON_BLOCKING);
            h = Cublas.create();
            Cublas.setStream(h, s);
            Cublas.setMathMode(h, allowTf32 ? Cublas.TF32_TENSOR_OP_MATH : Cublas.DEFAULT_MATH);
            g = new CublasGemm(h, allowTf32);
            if (ptx != null) m = CuDriver.moduleLoad(ptx, ptxName).handle();
        } catch (RuntimeException e) {
            if (g != null) g.close();
            if (h != 0) { long hh = h; safely(e, () -> Cublas.destroy(hh)); }
            if (s != 0) { long ss = s; safely(e, () -> CuStream.destroy(ss)); }
            safely(e, () -> CuDriver.primaryContextRelease(device));
            throw e;
        }
        this.stream = s;
        this.cublas = h;
        this.gemm = g;
        this.module = m;
        this.moduleName = ptxName;
        long streamForPool = s;
        this.pool = new DevicePool(new DevicePool.Allocator() {
            @Override public long alloc(long bytes) { return CuMemory.alloc(bytes); }
            @Override public void free(long ptr) { CuMemory.free(ptr); }
            @Override public void synchronize() { CuStream.synchronize(streamForPool); }
            @Override public long freeBytes() { return CuMemory.info().free(); }
            @Override public long totalBytes() { return CuMemory.info().total(); }
            @Override public boolean isOutOfMemory(RuntimeException e) { return e instanceof CudaException c && c.isOutOfMemory(); }
        });
        this.maxSharedBytes = CuDriver.attribute(CuDriver.ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device);
        int ccMajor = CuDriver.attribute(CuDriver.ATTR_COMPUTE_CAPABILITY_MAJOR, device);
        int ccMinor = CuDriver.attribute(CuDriver.ATTR_COMPUTE_CAPABILITY_MINOR, device);
        this.name = CuDriver.deviceName(device);
        this.description = name + ", sm_" + ccMajor + ccMinor + ", driver "
                + CudaProbe.version(CuDriver.driverVersion()) + ", " + Bytes.human(CuDriver.totalMemory(device));
    }

    static byte[] readResource(String resource) {
        try (InputStream s = openResource(resource)) {
            return s.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read PTX resource " + resource + ": " + e.getMessage(), e);
        }
    }

    /** The PTX at a class path resource, decompressed as it is read when the name ends in ".gz". */
    static InputStream openResource(String resource) {
        InputStream in = CudaDeviceApi.class.getResourceAsStream(resource);
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        if (in == null && cl != null) in = cl.getResourceAsStream(resource.startsWith("/") ? resource.substring(1) : resource);
        if (in == null) throw new IllegalStateException("PTX resource " + resource + " is not on the class path");
        // a ".gz" resource is gzip-compressed PTX (the kernels jar stores it so)
        try {
            return resource.endsWith(".gz") ? new GZIPInputStream(in) : in;
        } catch (IOException e) {
            try { in.close(); } catch (IOException ignored) { /* the first failure is the one to report */ }
            throw new IllegalStateException("cannot read PTX resource " + resource + ": " + e.getMessage(), e);
        }
    }

    private static void safely(RuntimeException primary, Runnable r) {
        try { r.run(); } catch (RuntimeException e) { primary.addSuppressed(e); }
    }

    /** Makes the context current on this thread (once per thread). */
    private void enter() {
        if (closed) throw new IllegalStateException("CUDA device used after close");
        if (current.get() == null) {
            CuDriver.setCurrentContext(context);
            current.set(Boolean.TRUE);
        }
    }

    @Override public String describe() { return description; }

    @Override public String name() { return name; }

    @Override public boolean emulated() { return false; }

    public long stream() { return stream; }

    public DevicePool pool() { return pool; }

    @Override public long alloc(long bytes) { enter(); return pool.take(bytes); }

    @Override public void free(long ptr) { enter(); pool.give(ptr); }

    @Override public void copyToDevice(MemorySegment src, long dst, long bytes) {
        enter();
        noCapture("a host→device copy of " + bytes + " bytes (write step inputs before the replay)");
        CuMemory.copyHtoDAsync(dst, src, bytes, stream);
    }

    /** Waits for the stream: the bytes are in {@code dst} when this returns. */
    @Override public void copyToHost(long src, MemorySegment dst, long bytes) {
        enter();
        noCapture("a device→host copy of " + bytes + " bytes (read results after the replay)");
        CuMemory.copyDtoHAsync(dst, src, bytes, stream);
        CuStream.synchronize(stream);
    }

    @Override public void copyDeviceToDevice(long src, long dst, long bytes) {
        enter();
        CuMemory.copyDtoDAsync(dst, src, bytes, stream);
    }

    @Override public void memset(long ptr, int byteValue, long bytes) {
        enter();
        CuMemory.memsetAsync(ptr, byteValue, bytes, stream);
    }

    @Override public KernelHandle kernel(String name) {
        enter();
        if (module == 0) throw new IllegalStateException("no PTX module was loaded; cannot find kernel " + name);
        return kernels.computeIfAbsent(name, n -> new Kernel(n, CuDriver.function(module, n)));
    }

    @Override public void launch(KernelHandle k, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                                 int sharedBytes, MemorySegment kernelParams) {
        enter();
        if (!(k instanceof Kernel kernel))
            throw new IllegalArgumentException("kernel " + k.name() + " does not come from this device's module " + moduleName);
        if (sharedBytes > kernel.sharedLimit) {
            // above 48 KiB a kernel must opt in to more dynamic shared memory
            CuDriver.functionSetAttribute(kernel.function, CuDriver.FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    sharedBytes, kernel.name);
            kernel.sharedLimit = sharedBytes;
        }
        try {
            CuDriver.launch(kernel.function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, stream, kernelParams);
        } catch (CudaException e) {
            throw new CudaException(e.call(), e.code(), e.errorName(), "kernel " + kernel.name + ": " + e.getMessage());
        }
    }

    @Override public void gemm(GemmType dtype, boolean transA, boolean transB, int m, int n, int k, float alpha,
                               long a, int lda, long strideA, long b, int ldb, long strideB, float beta,
                               long c, int ldc, long strideC, int batch) {
        gemm(dtype, dtype, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
    }

    @Override public void gemm(GemmType abType, GemmType cType, boolean transA, boolean transB, int m, int n, int k, float alpha,
                               long a, int lda, long strideA, long b, int ldb, long strideB, float beta,
                               long c, int ldc, long strideC, int batch) {
        if (!DeviceApi.mixedGemmSupported(abType, cType))
            throw new UnsupportedOperationException("cuBLAS GEMM: no " + abType + " inputs into a " + cType + " output");
        enter();
        synchronized (gemm) {
            gemm.gemm(cudaType(abType), cudaType(cType), transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB,
                    beta, c, ldc, strideC, batch);
        }
    }

    private static int cudaType(GemmType t) {
        return switch (t) {
            case F32 -> Cublas.CUDA_R_32F;
            case F16 -> Cublas.CUDA_R_16F;
            case BF16 -> Cublas.CUDA_R_16BF;
        };
    }

    /** Captures what {@code body} enqueues on this device's stream as a replayable graph. */
    public CudaGraph capture(Runnable body) {
        enter();
        return CudaGraph.capture(stream, body);
    }

    /** A timer on this device's stream. */
    public EventTimer timer() {
        enter();
        return new EventTimer(stream);
    }

    @Override public void synchronize() {
        enter();
        noCapture("a stream synchronisation");
        CuStream.synchronize(stream);
    }

    private void noCapture(String what) {
        if (capturing) throw new StepCaptureException("a captured step may not do " + what + ": it would wait for the host");
    }

    // ---- step capture: stream capture into a CUDA graph, the pool reserving the step's blocks

    @Override public synchronized void beginCapture() {
        enter();
        if (capturing) throw new StepCaptureException("a step capture is already in progress (captures do not nest)");
        pool.beginCapture();
        try {
            // thread-local: other threads' unsafe calls (e.g. a cuMemAlloc elsewhere) do not invalidate this capture
            CuStream.beginCapture(stream, CuStream.CAPTURE_THREAD_LOCAL);
        } catch (RuntimeException e) {
            pool.abortCapture();
            throw e;
        }
        capturing = true;
    }

    @Override public synchronized DeviceGraph endCapture() {
        enter();
        if (!capturing) throw new IllegalStateException("endCapture without beginCapture");
        capturing = false;
        CudaGraph graph;
        try {
            graph = CudaGraph.endCapture(stream);
        } catch (RuntimeException e) {
            pool.abortCapture();
            throw e;
        }
        DevicePool.Reservation blocks;
        try {
            blocks = pool.endCapture();
        } catch (RuntimeException e) {
            pool.abortCapture();
            graph.close();
            throw e;
        }
        return new CudaStepGraph(graph, blocks);
    }

    @Override public synchronized void abortCapture() {
        if (!capturing) { pool.abortCapture(); return; }
        capturing = false;
        enter();
        CudaGraph.abortCapture(stream, null);
        pool.abortCapture();
    }

    @Override public boolean capturing() { return capturing; }

    /** A captured step: the instantiated graph and the pool blocks it writes. */
    private final class CudaStepGraph implements DeviceGraph {
        private final CudaGraph graph;
        private final DevicePool.Reservation blocks;
        private boolean closed;

        CudaStepGraph(CudaGraph graph, DevicePool.Reservation blocks) {
            this.graph = graph;
            this.blocks = blocks;
        }

        @Override public void replay() {
            enter();
            if (closed) throw new IllegalStateException("step graph replayed after close");
            graph.launch(stream);
        }

        @Override public int operations() { return -1; }

        @Override public void close() {
            if (closed) return;
            closed = true;
            enter();
            try {
                graph.close();
            } finally {
                blocks.close();
            }
        }
    }

    @Override public long freeBytes() { enter(); return CuMemory.info().free(); }

    @Override public long totalBytes() { enter(); return CuMemory.info().total(); }

    /** The pool's peak of bytes in use (rounded block sizes, cached blocks not counted). */
    @Override public long peakBytes() { return pool.peakInUseBytes(); }

    @Override public int maxSharedBytesPerBlock() { return maxSharedBytes; }

    @Override public void resetPeakBytes() { pool.resetPeak(); }

    @Override public long eventCreate() { enter(); return CuStream.eventCreate(); }

    @Override public void eventRecord(long event) { enter(); CuStream.eventRecord(event, stream); }

    @Override public float eventElapsedMillis(long start, long end) {
        enter();
        CuStream.eventSynchronize(end);
        return CuStream.elapsedMillis(start, end);
    }

    @Override public void eventDestroy(long event) { enter(); CuStream.eventDestroy(event); }

    @Override public synchronized void close() {
        if (closed) return;
        enter();
        closed = true;
        RuntimeException first = null;
        for (Runnable step : new Runnable[] {
                () -> CuStream.synchronize(stream), pool::close, gemm::close, () -> Cublas.destroy(cublas),
                () -> { if (module != 0) CuDriver.moduleUnload(module); }, () -> CuStream.destroy(stream),
                () -> CuDriver.primaryContextRelease(device)}) {
            try { step.run(); } catch (RuntimeException e) { if (first == null) first = e; else first.addSuppressed(e); }
        }
        if (first != null) throw first;
    }

    @Override public String toString() { return "CudaDeviceApi[" + description + ", " + pool + "]"; }
}
