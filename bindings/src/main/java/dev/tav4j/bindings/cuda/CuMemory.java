package dev.tav4j.bindings.cuda;

import static dev.tav4j.bindings.cuda.Binder.BYTE;
import static dev.tav4j.bindings.cuda.Binder.LONG;
import static dev.tav4j.bindings.cuda.Binder.PTR;
import static dev.tav4j.bindings.cuda.Binder.rethrow;
import static dev.tav4j.bindings.cuda.CuDriver.check;
import static dev.tav4j.bindings.cuda.CuDriver.error;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Device memory: allocation, copies (synchronous and stream-ordered), memset and free/total. Device pointers
 * are {@code long} CUdeviceptr values; host memory is a native {@link MemorySegment}.
 * <p>The async host-to-device copy is not bound "critical": from pageable memory the driver stages the data and
 * may wait on the stream, which is no short call.
 */
public final class CuMemory {
    private CuMemory() {}

    private static final class H {
        static final Binder B = new Binder(CudaLibraries.driver());
        static final MethodHandle cuMemAlloc = B.fn("cuMemAlloc_v2", PTR, LONG);
        static final MethodHandle cuMemFree = B.fn("cuMemFree_v2", LONG);
        static final MethodHandle cuMemcpyHtoD = B.fn("cuMemcpyHtoD_v2", LONG, PTR, LONG);
        static final MethodHandle cuMemcpyDtoH = B.fn("cuMemcpyDtoH_v2", PTR, LONG, LONG);
        static final MethodHandle cuMemcpyDtoD = B.fn("cuMemcpyDtoD_v2", LONG, LONG, LONG);
        static final MethodHandle cuMemcpyHtoDAsync = B.fn("cuMemcpyHtoDAsync_v2", LONG, PTR, LONG, LONG);
        static final MethodHandle cuMemcpyDtoHAsync = B.fn("cuMemcpyDtoHAsync_v2", PTR, LONG, LONG, LONG);
        static final MethodHandle cuMemcpyDtoDAsync = B.critical("cuMemcpyDtoDAsync_v2", LONG, LONG, LONG, LONG);
        static final MethodHandle cuMemsetD8 = B.fn("cuMemsetD8_v2", LONG, BYTE, LONG);
        static final MethodHandle cuMemsetD8Async = B.critical("cuMemsetD8Async", LONG, BYTE, LONG, LONG);
        static final MethodHandle cuMemGetInfo = B.fn("cuMemGetInfo_v2", PTR, PTR);
    }

    /** cuMemAlloc; a failure (CUDA_ERROR_OUT_OF_MEMORY included) is a {@link CudaException} with the size asked for. */
    public static long alloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int r;
            try { r = (int) H.cuMemAlloc.invokeExact(out, bytes); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuMemAlloc_v2(" + bytes + " bytes)");
            return out.get(LONG, 0);
        }
    }

    public static void free(long ptr) {
        int r;
        try { r = (int) H.cuMemFree.invokeExact(ptr); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuMemFree_v2(0x" + Long.toHexString(ptr) + ")");
    }

    public static void copyHtoD(long dst, MemorySegment src, long bytes) {
        requireSize(src, bytes, "cuMemcpyHtoD_v2");
        int r;
        try { r = (int) H.cuMemcpyHtoD.invokeExact(dst, src, bytes); } catch (Throwable t) { throw rethrow(t); }
        if (r != 0) throw error(r, "cuMemcpyHtoD_v2(" + bytes + " bytes)");
    }

    public static void copyDtoH(MemorySegment dst, long src, long bytes) {
        requireSize(dst, bytes, "cuMemcpyDtoH_v2");
        int r;
        try { r = (int) H.cuMemcpyDtoH.invokeExact(dst, src, bytes); } catch (Throwable t) { throw rethrow(t); }
        if (r != 0) throw error(r, "cuMemcpyDtoH_v2(" + bytes + " bytes)");
    }

    public static void copyDtoD(long dst, long src, long bytes) {
        int r;
        try { r = (int) H.cuMemcpyDtoD.invokeExact(dst, src, bytes); } catch (Throwable t) { throw rethrow(t); }
        if (r != 0) throw error(r, "cuMemcpyDtoD_v2(" + bytes + " bytes)");
    }

    /** Stream-ordered; from pageable memory the source may be reused as soon as this returns (the driver stages it). */
    public static void copyHtoDAsync(long dst, MemorySegment src, long bytes, long stream) {
        requireSize(src, bytes, "cuMemcpyHtoDAsync_v2");
        int r;
        try { r = (int) H.cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream); } catch (Throwable t) { throw rethrow(t); }
        if (r != 0) throw error(r, "cuMemcpyHtoDAsync_v2(" + bytes + " bytes)");
    }

    /** Stream-ordered; into pinned memory the data is there only after the stream is synchronised. */
    public static void copyDtoHAsync(MemorySegment dst, long src, long bytes, long stream) {
        requireSize(dst, bytes, "cuMemcpyDtoHAsync_v2");
        int r;
        try { r = (int) H.cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream); } catch (Throwable t) { throw rethrow(t); }
        if (r != 0) throw error(r, "cuMemcpyDtoHAsync_v2(" + bytes + " bytes)");
    }

    public static void copyDtoDAsync(long dst, long src, long bytes, long stream) {
        int r;
        try { r = (int) H.cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream); } catch (Throwable t) { throw rethrow(t); }
        if (r != 0) throw error(r, "cuMemcpyDtoDAsync_v2(" + bytes + " bytes)");
    }

    public static void memset(long ptr, int byteValue, long bytes) {
        int r;
        try { r = (int) H.cuMemsetD8.invokeExact(ptr, (byte) byteValue, bytes); } catch (Throwable t) { throw rethrow(t); }
        if (r != 0) throw error(r, "cuMemsetD8_v2(" + bytes + " bytes)");
    }

    public static void memsetAsync(long ptr, int byteValue, long bytes, long stream) {
        int r;
        try { r = (int) H.cuMemsetD8Async.invokeExact(ptr, (byte) byteValue, bytes, stream); } catch (Throwable t) { throw rethrow(t); }
        if (r != 0) throw error(r, "cuMemsetD8Async(" + bytes + " bytes)");
    }

    /** Free and total bytes of the current context's device. */
    public record Info(long free, long total) {}

    public static Info info() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(LONG), total = a.allocate(LONG);
            int r;
            try { r = (int) H.cuMemGetInfo.invokeExact(free, total); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuMemGetInfo_v2");
            return new Info(free.get(LONG, 0), total.get(LONG, 0));
        }
    }

    private static void requireSize(MemorySegment host, long bytes, String call) {
        if (bytes < 0 || host.byteSize() < bytes)
            throw new IllegalArgumentException(call + ": host segment of " + host.byteSize() + " bytes, copy of " + bytes);
        if (!host.isNative()) throw new IllegalArgumentException(call + ": host segment must be native memory");
    }
}
