package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.device.DeviceApi;

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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link DeviceApi} over the host emulation of the tav4j CUDA kernels: "device" memory is malloc'ed host
 * memory, kernels are the {@code tav_emu_<name>} entries of {@code libtav_emu.so} (the same .cu sources
 * compiled with g++ and native/emu/cuda_emu.h, built by the kernels module into target/emu), and GEMM is a
 * plain Java loop. It exists so the whole CUDA backend runs in CI without a GPU; it is never offered as "cuda".
 */
public final class EmulatedDeviceApi implements DeviceApi {
    /** System property naming the library; the Maven build sets it for the tests. */
    public static final String LIBRARY_PROPERTY = "tav.emu.lib";

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
    private final Map<Long, Long> live = new ConcurrentHashMap<>();
    private final Map<String, Entry> kernels = new ConcurrentHashMap<>();
    // launches run to completion before returning, so an event is simply the host clock when it is recorded
    private final Map<Long, Long> events = new ConcurrentHashMap<>();
    private final AtomicLong nextEvent = new AtomicLong(1);
    private long inUse, peak;

    private record Entry(String name, MethodHandle handle) implements KernelHandle {}

    private EmulatedDeviceApi(Path library) {
        this.library = library;
        this.lookup = SymbolLookup.libraryLookup(library, arena);
    }

    /** Opens the emulation library found by {@link #locate()}; throws with the reason when there is none. */
    public static EmulatedDeviceApi open() {
        Path lib = locate();
        if (lib == null) throw new IllegalStateException(unavailableReason());
        return new EmulatedDeviceApi(lib);
    }

    /** The library: {@code -Dtav.emu.lib}, else kernels/target/emu/libtav_emu.so from the repository, the kernels module or a sibling module. */
    public static Path locate() {
        String prop = System.getProperty(LIBRARY_PROPERTY);
        if (prop != null) return Files.isRegularFile(Path.of(prop)) ? Path.of(prop) : null;
        for (String c : new String[] {"target/emu/libtav_emu.so", "kernels/target/emu/libtav_emu.so", "../kernels/target/emu/libtav_emu.so"}) {
            if (Files.isRegularFile(Path.of(c))) return Path.of(c).toAbsolutePath();
        }
        return null;
    }

    /** Why {@link #locate()} found nothing (the build writes the reason next to where the library would be). */
    public static String unavailableReason() {
        String prop = System.getProperty(LIBRARY_PROPERTY);
        Path where = Path.of(prop != null ? prop : "kernels/target/emu/libtav_emu.so");
        Path missing = where.resolveSibling("libtav_emu.missing");
        try {
            if (Files.isRegularFile(missing)) return Files.readString(missing).strip();
        } catch (IOException ignored) {
            // fall through to the generic reason
        }
        return "emulated CUDA library not found at " + where.toAbsolutePath()
                + " (built by 'mvn -pl kernels generate-resources' when g++ is present, or native/build-emu.sh)";
    }

    @Override public String describe() { return "emulated CUDA on the host (" + library + ")"; }

    @Override public boolean emulated() { return true; }

    @Override public long alloc(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("alloc of " + bytes + " bytes");
        long p;
        try {
            p = (long) MALLOC.invokeExact(bytes);
        } catch (Throwable t) {
            throw new IllegalStateException("malloc failed", t);
        }
        if (p == 0) throw new OutOfMemoryError("emulated device: cannot allocate " + bytes + " bytes");
        live.put(p, bytes);
        synchronized (this) {
            inUse += bytes;
            peak = Math.max(peak, inUse);
        }
        return p;
    }

    @Override public void free(long ptr) {
        Long bytes = live.remove(ptr);
        if (bytes == null) throw new IllegalArgumentException("free of an unknown device pointer 0x" + Long.toHexString(ptr));
        synchronized (this) {
            inUse -= bytes;
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
        MemorySegment.copy(src, 0, at(dst, bytes), 0, bytes);
    }

    @Override public void copyToHost(long src, MemorySegment dst, long bytes) {
        MemorySegment.copy(at(src, bytes), 0, dst, 0, bytes);
    }

    @Override public void copyDeviceToDevice(long src, long dst, long bytes) {
        MemorySegment.copy(at(src, bytes), 0, at(dst, bytes), 0, bytes);
    }

    @Override public void memset(long ptr, int byteValue, long bytes) {
        at(ptr, bytes).fill((byte) byteValue);
    }

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
        HostGemm.run(dtype, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
    }

    @Override public void gemm(GemmType abType, GemmType cType, boolean transA, boolean transB, int m, int n, int k, float alpha,
                               long a, int lda, long strideA, long b, int ldb, long strideB, float beta,
                               long c, int ldc, long strideC, int batch) {
        HostGemm.run(abType, cType, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
    }

    @Override public void synchronize() {}

    @Override public synchronized long peakBytes() { return peak; }

    @Override public synchronized void resetPeakBytes() { peak = inUse; }

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
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getFreeMemorySize();
    }

    @Override public long totalBytes() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    }

    /** Frees what is still allocated and unloads the library. */
    @Override public void close() {
        for (Long p : live.keySet()) free(p);
        arena.close();
    }
}
