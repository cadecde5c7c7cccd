package dev.tav4j.bindings.cuda;

/**
 * A failed CUDA driver or cuBLAS call, or a CUDA library that could not be loaded. The message names the call,
 * the error name and the driver's description of it, e.g.
 * {@code cuMemAlloc_v2(1099511627776 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory}.
 */
public class CudaException extends RuntimeException {
    /** CUresult codes the runtime reacts to. */
    public static final int CUDA_ERROR_OUT_OF_MEMORY = 2;
    public static final int CUDA_ERROR_NOT_INITIALIZED = 3;
    public static final int CUDA_ERROR_INSUFFICIENT_DRIVER = 35;
    public static final int CUDA_ERROR_NO_DEVICE = 100;
    public static final int CUDA_ERROR_INVALID_PTX = 218;
    public static final int CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222;
    public static final int CUDA_ERROR_NOT_FOUND = 500;
    /** Not a driver code: the library or symbol is missing. */
    public static final int LIBRARY_MISSING = -1;

    private final String call;
    private final int code;
    private final String errorName;

    public CudaException(String call, int code, String errorName, String message) {
        super(message);
        this.call = call;
        this.code = code;
        this.errorName = errorName;
    }

    /** A library or symbol that is not there (no CUresult). */
    public static CudaException missing(String what, String why) {
        return new CudaException(what, LIBRARY_MISSING, "LIBRARY_MISSING", what + ": " + why);
    }

    /** The call that failed, with its arguments where they help, e.g. {@code cuModuleLoadDataEx(tav4j.ptx)}. */
    public String call() { return call; }

    /** The CUresult or cublasStatus_t value; {@link #LIBRARY_MISSING} when nothing was called. */
    public int code() { return code; }

    /** e.g. {@code CUDA_ERROR_OUT_OF_MEMORY} or {@code CUBLAS_STATUS_NOT_SUPPORTED}. */
    public String errorName() { return errorName; }

    public boolean isOutOfMemory() { return code == CUDA_ERROR_OUT_OF_MEMORY && errorName.startsWith("CUDA_"); }
}
