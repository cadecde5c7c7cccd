package dev.tav4j.bindings.cuda;

import static dev.tav4j.bindings.cuda.Binder.INT;
import static dev.tav4j.bindings.cuda.Binder.LONG;
import static dev.tav4j.bindings.cuda.Binder.PTR;
import static dev.tav4j.bindings.cuda.Binder.rethrow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * CUDA Driver API: initialisation, devices, primary context, modules, kernel launch and error names. Handles
 * (CUcontext, CUmodule, CUfunction, CUstream) are plain {@code long}s. Every CUresult is checked; a failure is a
 * {@link CudaException} naming the call with the error's name and description.
 */
public final class CuDriver {
    private CuDriver() {}

    /** CUdevice_attribute values tav4j reads. */
    public static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    public static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    public static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    public static final int ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    /** CUfunction_attribute: how much dynamic shared memory a launch may ask for. */
    public static final int FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    // CUjit_option values
    private static final int JIT_INFO_LOG_BUFFER = 3, JIT_INFO_LOG_BUFFER_SIZE = 4, JIT_ERROR_LOG_BUFFER = 5,
            JIT_ERROR_LOG_BUFFER_SIZE = 6;
    private static final int JIT_LOG_BYTES = 64 * 1024;

    private static final class H {
        static final Binder B = new Binder(CudaLibraries.driver());
        static final MethodHandle cuInit = B.fn("cuInit", INT);
        static final MethodHandle cuDriverGetVersion = B.fn("cuDriverGetVersion", PTR);
        static final MethodHandle cuDeviceGetCount = B.fn("cuDeviceGetCount", PTR);
        static final MethodHandle cuDeviceGet = B.fn("cuDeviceGet", PTR, INT);
        static final MethodHandle cuDeviceGetName = B.fn("cuDeviceGetName", PTR, INT, INT);
        static final MethodHandle cuDeviceGetAttribute = B.fn("cuDeviceGetAttribute", PTR, INT, INT);
        static final MethodHandle cuDeviceTotalMem = B.fn("cuDeviceTotalMem_v2", PTR, INT);
        static final MethodHandle cuDevicePrimaryCtxRetain = B.fn("cuDevicePrimaryCtxRetain", PTR, INT);
        static final MethodHandle cuDevicePrimaryCtxRelease =
                B.firstOf(new String[] {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"}, INT);
        static final MethodHandle cuCtxSetCurrent = B.fn("cuCtxSetCurrent", LONG);
        static final MethodHandle cuCtxSynchronize = B.fn("cuCtxSynchronize");
        static final MethodHandle cuModuleLoadDataEx = B.fn("cuModuleLoadDataEx", PTR, PTR, INT, PTR, PTR);
        static final MethodHandle cuModuleUnload = B.fn("cuModuleUnload", LONG);
        static final MethodHandle cuModuleGetFunction = B.fn("cuModuleGetFunction", PTR, LONG, PTR);
        static final MethodHandle cuFuncSetAttribute = B.fn("cuFuncSetAttribute", LONG, INT, INT);
        static final MethodHandle cuLaunchKernel = B.critical("cuLaunchKernel",
                LONG, INT, INT, INT, INT, INT, INT, INT, LONG, PTR, PTR);
        static final MethodHandle cuGetErrorName = B.fn("cuGetErrorName", INT, PTR);
        static final MethodHandle cuGetErrorString = B.fn("cuGetErrorString", INT, PTR);
    }

    /** Whether the driver library was found (says nothing about devices). */
    public static boolean libraryLoaded() { return CudaLibraries.driver().ok(); }

    /** Checks a CUresult: 0 is success, anything else a {@link CudaException} for {@code call}. */
    static void check(int result, String call) {
        if (result != 0) throw error(result, call);
    }

    static CudaException error(int result, String call) {
        String name = errorName(result), text = errorString(result);
        return new CudaException(call, result, name, call + " failed: " + name + " (" + result + "): " + text);
    }

    public static void init() {
        int r;
        try { r = (int) H.cuInit.invokeExact(0); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuInit(0)");
    }

    /** e.g. 13000 for CUDA 13.0. */
    public static int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            int r;
            try { r = (int) H.cuDriverGetVersion.invokeExact(out); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuDriverGetVersion");
            return out.get(INT, 0);
        }
    }

    public static int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            int r;
            try { r = (int) H.cuDeviceGetCount.invokeExact(out); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuDeviceGetCount");
            return out.get(INT, 0);
        }
    }

    /** The CUdevice for an ordinal. */
    public static int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            int r;
            try { r = (int) H.cuDeviceGet.invokeExact(out, ordinal); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuDeviceGet(" + ordinal + ")");
            return out.get(INT, 0);
        }
    }

    public static String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(256);
            int r;
            try { r = (int) H.cuDeviceGetName.invokeExact(out, 256, device); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuDeviceGetName(" + device + ")");
            return out.getString(0, StandardCharsets.UTF_8);
        }
    }

    public static int attribute(int attribute, int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            int r;
            try { r = (int) H.cuDeviceGetAttribute.invokeExact(out, attribute, device); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuDeviceGetAttribute(" + attribute + ", device " + device + ")");
            return out.get(INT, 0);
        }
    }

    public static long totalMemory(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int r;
            try { r = (int) H.cuDeviceTotalMem.invokeExact(out, device); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuDeviceTotalMem_v2(" + device + ")");
            return out.get(LONG, 0);
        }
    }

    /** Retains the device's primary context (the one the CUDA runtime and PyTorch share). */
    public static long primaryContextRetain(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int r;
            try { r = (int) H.cuDevicePrimaryCtxRetain.invokeExact(out, device); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuDevicePrimaryCtxRetain(" + device + ")");
            return out.get(LONG, 0);
        }
    }

    public static void primaryContextRelease(int device) {
        int r;
        try { r = (int) H.cuDevicePrimaryCtxRelease.invokeExact(device); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuDevicePrimaryCtxRelease(" + device + ")");
    }

    /** Makes {@code context} current on the calling thread (a context is per thread in the driver API). */
    public static void setCurrentContext(long context) {
        int r;
        try { r = (int) H.cuCtxSetCurrent.invokeExact(context); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuCtxSetCurrent");
    }

    public static void contextSynchronize() {
        int r;
        try { r = (int) H.cuCtxSynchronize.invokeExact(); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuCtxSynchronize");
    }

    /** A loaded module and the JIT compiler's info log (warnings; often empty). */
    public record Module(long handle, String infoLog) {}

    /**
     * JIT-compiles and loads a PTX (or cubin) image. On failure the exception's message carries the JIT error
     * log and info log, which say which line of the PTX is wrong or which target is unsupported.
     */
    public static Module moduleLoad(byte[] image, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment img = a.allocate(image.length + 1L);
            MemorySegment.copy(image, 0, img, Binder.BYTE, 0, image.length);
            img.set(Binder.BYTE, image.length, (byte) 0);
            MemorySegment info = a.allocate(JIT_LOG_BYTES), err = a.allocate(JIT_LOG_BYTES);
            MemorySegment opts = a.allocateFrom(INT, JIT_INFO_LOG_BUFFER, JIT_INFO_LOG_BUFFER_SIZE,
                    JIT_ERROR_LOG_BUFFER, JIT_ERROR_LOG_BUFFER_SIZE);
            MemorySegment vals = a.allocate(LONG, 4);
            vals.setAtIndex(LONG, 0, info.address());
            vals.setAtIndex(LONG, 1, JIT_LOG_BYTES);
            vals.setAtIndex(LONG, 2, err.address());
            vals.setAtIndex(LONG, 3, JIT_LOG_BYTES);
            MemorySegment out = a.allocate(LONG);
            int r;
            try { r = (int) H.cuModuleLoadDataEx.invokeExact(out, img, 4, opts, vals); } catch (Throwable t) { throw rethrow(t); }
            String infoLog = info.getString(0).strip(), errLog = err.getString(0).strip();
            if (r != 0) {
                CudaException e = error(r, "cuModuleLoadDataEx(" + name + ")");
                throw new CudaException(e.call(), e.code(), e.errorName(), e.getMessage()
                        + "\nJIT error log:\n" + (errLog.isEmpty() ? "(empty)" : errLog)
                        + (infoLog.isEmpty() ? "" : "\nJIT info log:\n" + infoLog));
            }
            return new Module(out.get(LONG, 0), infoLog);
        }
    }

    public static void moduleUnload(long module) {
        int r;
        try { r = (int) H.cuModuleUnload.invokeExact(module); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuModuleUnload");
    }

    public static long function(long module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int r;
            try { r = (int) H.cuModuleGetFunction.invokeExact(out, module, a.allocateFrom(name)); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuModuleGetFunction(" + name + ")");
            return out.get(LONG, 0);
        }
    }

    public static void functionSetAttribute(long function, int attribute, int value, String name) {
        int r;
        try { r = (int) H.cuFuncSetAttribute.invokeExact(function, attribute, value); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuFuncSetAttribute(" + name + ", " + attribute + ", " + value + ")");
    }

    /** cuLaunchKernel; {@code params} is the native array of pointers to argument values. */
    public static void launch(long function, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                              long stream, MemorySegment params) {
        int r;
        try {
            r = (int) H.cuLaunchKernel.invokeExact(function, gx, gy, gz, bx, by, bz, sharedBytes, stream, params,
                    MemorySegment.NULL);
        } catch (Throwable t) { throw rethrow(t); }
        if (r != 0) throw error(r, "cuLaunchKernel(grid " + gx + "x" + gy + "x" + gz + ", block " + bx + "x" + by
                + "x" + bz + ", shared " + sharedBytes + " B)");
    }

    /** e.g. CUDA_ERROR_OUT_OF_MEMORY; "CUresult " + code when the driver does not know it or is missing. */
    public static String errorName(int result) {
        return errorText(H.cuGetErrorName, result, "CUresult " + result);
    }

    /** The driver's description of an error, e.g. "out of memory". */
    public static String errorString(int result) {
        return errorText(H.cuGetErrorString, result, "unknown error");
    }

    private static String errorText(MethodHandle h, int result, String fallback) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int r = (int) h.invokeExact(result, out);
            MemorySegment s = out.get(PTR, 0);
            return r == 0 && s.address() != 0 ? s.reinterpret(4096).getString(0) : fallback;
        } catch (Throwable t) {
            return fallback;
        }
    }
}
