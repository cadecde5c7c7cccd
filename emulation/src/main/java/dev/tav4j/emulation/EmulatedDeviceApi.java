package dev.tav4j.emulation;

import dev.tav4j.bindings.cuda.CudaException;
import dev.tav4j.runtime.device.DevicePool;
import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceGraph;
import dev.tav4j.runtime.device.StepCaptureException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link DeviceApi} over the host emulation of the tav4j CUDA kernels: "device" memory is malloc'ed host
 * memory, kernels are the {@code tav_emu_<name>} entries of {@code libtav_emu.so} (the same .cu sources
 * compiled with g++ and native/emu/cuda_emu.h, built by the kernels module into kernels/target/emu), and GEMM is a
 * plain Java loop. It exists so the whole CUDA backend runs in CI without a GPU; it is never offered as "cuda",
 * and it is test support: this module is not in the shipped jars.
 *
 * <p>Memory goes through the same {@link DevicePool} as on a GPU (so caching, step-capture reservations and the
 * out-of-memory path are the real ones), optionally under a cap ({@link #open(Path, long)}) that plays a small device.
 * Step capture records each launch (kernel, grid, a copy of the argument values), GEMM, device copy and memset
 * without running it, and a replay runs the list in order: the semantics of a CUDA graph, checkable in CI.
 *
 * <p>The library's place is a value ({@link dev.tav4j.runtime.BackendSettings#emulationLibrary()}, or a test's
 * {@code -Dtav.emu.lib} read by the test); null means the default places, relative to the working directory.
 */
public final class EmulatedDeviceApi implements DeviceApi {
    /** Where the kernels module builds the library, relative to the repository (then a module folder, then a module's own). */
    static final List<String> DEFAULT_PLACES = List.of("kernels/target/emu/libtav_emu.so", "../kernels/target/emu/libtav_emu.so",
            "target/emu/libtav_emu.so");

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MALLOC = LINKER.downcallHandle(LINKER.defaultLookup().find("malloc").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    private static final MethodHandle FREE = LINKER.downcallHandle(LINKER.defaultLookup().find("free").orElseThrow(),
            FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG));
    private static final FunctionDescriptor ENTRY = FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS);

    private final Path library;
    private final Arena arena = Arena.ofShared();
    private final SymbolLookup lookup;
    private final Map<Long, Long> live = new ConcurrentHashMap<>();  // malloc'ed blocks (the pool's driver side)
    private final long capBytes;
    private long mallocBytes;
    private final DevicePool pool;
    private List<Runnable> recording;  // non-null while capturing
    private Arena captureArena;        // the recorded launches' argument copies; owned by the graph
    private final Map<String, Entry> kernels = new ConcurrentHashMap<>();
    // launches run to completion before returning, so an event is simply the host clock when it is recorded
    private final Map<Long, Long> events = new ConcurrentHashMap<>();
    private final AtomicLong nextEvent = new AtomicLong(1);

    private record Entry(String name, MethodHandle handle) implements KernelHandle {}

    private EmulatedDeviceApi(Path library, long capBytes) {
        this.library = library;
        this.lookup = SymbolLookup.libraryLookup(library, arena);
        this.capBytes = capBytes;
        this.pool = new DevicePool(EmulatedBackendProvider.NAME, new DevicePool.Allocator() {
            @Override public long alloc(long bytes) { return malloc(bytes); }
            @Override public void free(long ptr) { release(ptr); }
            @Override public void synchronize() {}
            @Override public long freeBytes() { return EmulatedDeviceApi.this.freeBytes(); }
            @Override public long totalBytes() { return EmulatedDeviceApi.this.totalBytes(); }
            @Override public boolean isOutOfMemory(RuntimeException e) { return e instanceof CudaException c && c.isOutOfMemory(); }
        });
    }

    /** Opens the library at {@code library} (null: the default places); throws with the reason when there is none. */
    public static EmulatedDeviceApi open(Path library) {
        return open(library, Long.MAX_VALUE);
    }

    /**
     * Like {@link #open(Path)}, with a "device" of {@code capBytes}: the pool's driver allocations beyond it fail with
     * CUDA_ERROR_OUT_OF_MEMORY, as cuMemAlloc does on a full GPU.
     */
    public static EmulatedDeviceApi open(Path library, long capBytes) {
        Path lib = locate(library);
        if (lib == null) throw new IllegalStateException(unavailableReason(library));
        return new EmulatedDeviceApi(lib, capBytes);
    }

    /** The caching pool in front of the emulated device's memory. */
    public DevicePool pool() { return pool; }

    /** The library: {@code library} when given (null when it is not a file), else the first of the default places that exists. */
    public static Path locate(Path library) {
        if (library != null) return Files.isRegularFile(library) ? library.toAbsolutePath() : null;
        for (String c : DEFAULT_PLACES) {
            if (Files.isRegularFile(Path.of(c))) return Path.of(c).toAbsolutePath();
        }
        return null;
    }

    /**
     * Whether the build recorded that it could not compile the library (no g++): the one case where tests of the
     * emulation are skipped rather than failed, so that a library that should exist but does not fails CI.
     */
    public static boolean compilerMissing(Path library) {
        return Files.isRegularFile(missingMarker(library));
    }

    private static Path expected(Path library) {
        if (library != null) return library;
        for (String c : DEFAULT_PLACES) if (Files.isDirectory(Path.of(c).getParent())) return Path.of(c);  // built, or the reason why not
        return Path.of(DEFAULT_PLACES.getFirst());
    }

    private static Path missingMarker(Path library) {
        return expected(library).resolveSibling("libtav_emu.missing");
    }

    /** Why {@link #locate} found nothing (the build writes the reason next to where the library would be). */
    public static String unavailableReason(Path library) {
        Path missing = missingMarker(library);
        try {
            if (Files.isRegularFile(missing)) return Files.readString(missing).strip();
        } catch (IOException ignored) {
            // fall through to the generic reason
        }
        return "emulated CUDA library not found at " + expected(library).toAbsolutePath()
                + " (built by 'mvn -pl kernels generate-test-resources' when g++ is present, or native/build-emu.sh)";
    }

    @Override public String describe() { return "emulated CUDA on the host (" + library + ")"; }

    @Override public String name() { return "emulated CUDA device"; }

    @Override public boolean emulated() { return true; }

    @Override public long alloc(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("alloc of " + bytes + " bytes");
        return pool.take(bytes);
    }

    @Override public void free(long ptr) { pool.give(ptr); }

    private long malloc(long bytes) {
        synchronized (this) {
            if (mallocBytes + bytes > capBytes)
                throw new CudaException("cuMemAlloc_v2(" + bytes + " bytes)", CudaException.CUDA_ERROR_OUT_OF_MEMORY,
                        "CUDA_ERROR_OUT_OF_MEMORY", "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory"
                        + " (emulated device of " + capBytes + " bytes)");
            mallocBytes += bytes;
        }
        long p;
        try {
            p = (long) MALLOC.invokeExact(bytes);
        } catch (Throwable t) {
            throw new IllegalStateException("malloc failed", t);
        }
        if (p == 0) {
            synchronized (this) { mallocBytes -= bytes; }
            throw new CudaException("malloc(" + bytes + " bytes)", CudaException.CUDA_ERROR_OUT_OF_MEMORY,
                    "CUDA_ERROR_OUT_OF_MEMORY", "emulated device: host malloc of " + bytes + " bytes failed");
        }
        live.put(p, bytes);
        return p;
    }

    private void release(long ptr) {
        Long bytes = live.remove(ptr);
        if (bytes == null) throw new IllegalArgumentException("free of an unknown device pointer 0x" + Long.toHexString(ptr));
        synchronized (this) {
            mallocBytes -= bytes;
        }
        try {
            FREE.invokeExact(ptr);
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }

    private static MemorySegment at(long address, long bytes) {
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    @Override public void copyToDevice(MemorySegment src, long dst, long bytes) {
        noCapture("a host→device copy of " + bytes + " bytes (write step inputs before the replay)");
        MemorySegment.copy(src, 0, at(dst, bytes), 0, bytes);
    }

    @Override public void copyToHost(long src, MemorySegment dst, long bytes) {
        noCapture("a device→host copy of " + bytes + " bytes (read results after the replay)");
        MemorySegment.copy(at(src, bytes), 0, dst, 0, bytes);
    }

    @Override public void copyDeviceToDevice(long src, long dst, long bytes) {
        run(() -> MemorySegment.copy(at(src, bytes), 0, at(dst, bytes), 0, bytes));
    }

    @Override public void memset(long ptr, int byteValue, long bytes) {
        run(() -> at(ptr, bytes).fill((byte) byteValue));
    }

    /** Runs {@code op} now, or records it while capturing. */
    private void run(Runnable op) {
        List<Runnable> rec;
        synchronized (this) { rec = recording; }
        if (rec != null) rec.add(op);
        else op.run();
    }

    private void noCapture(String what) {
        if (capturing()) throw new StepCaptureException("a captured step may not do " + what + ": it would wait for the host");
    }

    // ---- step capture: a list of recorded operations

    @Override public synchronized void beginCapture() {
        if (recording != null) throw new StepCaptureException("a step capture is already in progress (captures do not nest)");
        pool.beginCapture();
        recording = new ArrayList<>();
        captureArena = Arena.ofShared();
    }

    @Override public DeviceGraph endCapture() {
        List<Runnable> ops;
        Arena args;
        synchronized (this) {
            if (recording == null) throw new IllegalStateException("endCapture without beginCapture");
            ops = List.copyOf(recording);
            args = captureArena;
            recording = null;
            captureArena = null;
        }
        DevicePool.Reservation blocks;
        try {
            blocks = pool.endCapture();
        } catch (RuntimeException e) {
            pool.abortCapture();
            args.close();
            throw e;
        }
        return new DeviceGraph() {
            private boolean closed;

            @Override public void replay() {
                if (closed) throw new IllegalStateException("step graph replayed after close");
                if (capturing()) throw new StepCaptureException("a step graph cannot be replayed inside another capture");
                for (Runnable op : ops) op.run();
            }

            @Override public int operations() { return ops.size(); }

            @Override public void close() {
                if (closed) return;
                closed = true;
                blocks.close();
                args.close();
            }
        };
    }

    @Override public synchronized void abortCapture() {
        recording = null;
        if (captureArena != null) captureArena.close();
        captureArena = null;
        pool.abortCapture();
    }

    @Override public synchronized boolean capturing() { return recording != null; }

    @Override public KernelHandle kernel(String name) {
        return kernels.computeIfAbsent(name, n -> {
            MemorySegment sym = lookup.find("tav_emu_" + n).orElseThrow(() ->
                    new IllegalArgumentException("kernel '" + n + "' is not in " + library));
            return new Entry(n, LINKER.downcallHandle(sym, ENTRY));
        });
    }

    @Override public void launch(KernelHandle k, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                                 int sharedBytes, MemorySegment kernelParams) {
        if (!(k instanceof Entry e)) throw new IllegalArgumentException("not an emulated kernel: " + k.name());
        if (capturing()) {
            // like cuLaunchKernel in a capture: the argument values are copied now, the kernel runs at replay
            MemorySegment params = copyParams(kernelParams);
            run(() -> invoke(e, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, params));
            return;
        }
        invoke(e, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, kernelParams);
    }

    /**
     * A private copy of a cuLaunchKernel parameter array: each non-null pointer's 8-byte slot (every tav4j kernel
     * argument is a pointer, int, long or float, so 8 bytes hold any of them) into a graph-owned buffer.
     */
    private MemorySegment copyParams(MemorySegment kernelParams) {
        int n = (int) (kernelParams.byteSize() / ValueLayout.ADDRESS.byteSize());
        if (n == 0) throw new IllegalArgumentException("emulated capture needs a sized kernel parameter array");
        Arena a;
        synchronized (this) { a = captureArena; }
        MemorySegment values = a.allocate(8L * n, 8);
        MemorySegment pointers = a.allocate(ValueLayout.ADDRESS, n);
        for (int i = 0; i < n; i++) {
            MemorySegment p = kernelParams.getAtIndex(ValueLayout.ADDRESS, i);
            if (p.address() == 0) break;
            MemorySegment.copy(p.reinterpret(8), 0, values, 8L * i, 8);
            pointers.setAtIndex(ValueLayout.ADDRESS, i, values.asSlice(8L * i, 8));
        }
        return pointers;
    }

    private static void invoke(Entry e, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                               int sharedBytes, MemorySegment kernelParams) {
        Entry k = e;
        int rc;
        try {
            rc = (int) e.handle.invokeExact(gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, kernelParams);
        } catch (Throwable t) {
            throw new IllegalStateException("emulated launch of " + k.name() + " failed", t);
        }
        if (rc == 1) throw new IllegalStateException("emulated kernel " + k.name() + " deadlocked: a barrier or warp collective was not reached by every live thread");
        if (rc == 2) throw new IllegalArgumentException("emulated kernel " + k.name() + ": more than 1024 threads per block");
        if (rc != 0) throw new IllegalStateException("emulated kernel " + k.name() + " failed with code " + rc);
    }

    @Override public void gemm(GemmType dtype, boolean transA, boolean transB, int m, int n, int k, float alpha,
                               long a, int lda, long strideA, long b, int ldb, long strideB, float beta,
                               long c, int ldc, long strideC, int batch) {
        run(() -> HostGemm.run(dtype, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch));
    }

    @Override public void gemm(GemmType abType, GemmType cType, boolean transA, boolean transB, int m, int n, int k, float alpha,
                               long a, int lda, long strideA, long b, int ldb, long strideB, float beta,
                               long c, int ldc, long strideC, int batch) {
        run(() -> HostGemm.run(abType, cType, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch));
    }

    @Override public void synchronize() { noCapture("a stream synchronisation"); }

    /** The pool's peak of bytes in use (rounded block sizes), as on a GPU. */
    @Override public long peakBytes() { return pool.peakInUseBytes(); }

    @Override public void resetPeakBytes() { pool.resetPeak(); }

    @Override public long eventCreate() {
        long id = nextEvent.getAndIncrement();
        events.put(id, 0L);
        return id;
    }

    @Override public void eventRecord(long event) {
        if (events.replace(event, System.nanoTime()) == null) throw new IllegalArgumentException("unknown event " + event);
    }

    @Override public float eventElapsedMillis(long start, long end) {
        Long a = events.get(start), b = events.get(end);
        if (a == null || b == null) throw new IllegalArgumentException("unknown event " + (a == null ? start : end));
        return (b - a) / 1e6f;
    }

    @Override public void eventDestroy(long event) { events.remove(event); }

    @Override public long freeBytes() {
        if (capBytes != Long.MAX_VALUE) synchronized (this) { return capBytes - mallocBytes; }
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getFreeMemorySize();
    }

    @Override public long totalBytes() {
        if (capBytes != Long.MAX_VALUE) return capBytes;
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    }

    /** Frees what is still allocated and unloads the library. */
    @Override public void close() {
        pool.close();
        for (Long p : live.keySet()) release(p);
        arena.close();
    }
}
