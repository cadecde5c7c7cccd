package dev.tav4j.bindings.cuda;

import static dev.tav4j.bindings.cuda.Binder.INT;
import static dev.tav4j.bindings.cuda.Binder.LONG;
import static dev.tav4j.bindings.cuda.Binder.PTR;
import static dev.tav4j.bindings.cuda.Binder.rethrow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * cuBLAS (v2 API): handle, stream, math mode and {@code cublasGemmStridedBatchedEx}. Column-major, as cuBLAS is;
 * {@link CublasGemm} maps tav4j's row-major GEMM onto it. Every cublasStatus_t is checked.
 */
public final class Cublas {
    private Cublas() {}

    /** cublasOperation_t. */
    public static final int OP_N = 0, OP_T = 1;
    /** cudaDataType_t. */
    public static final int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    /** cublasComputeType_t. */
    public static final int COMPUTE_32F = 68, COMPUTE_32F_FAST_TF32 = 77;
    /** cublasMath_t. */
    public static final int DEFAULT_MATH = 0, PEDANTIC_MATH = 2, TF32_TENSOR_OP_MATH = 3;
    /** cublasGemmAlgo_t: let cuBLAS choose. */
    public static final int GEMM_DEFAULT = -1;

    private static final class H {
        static final Binder B = new Binder(CudaLibraries.cublas());
        static final MethodHandle cublasCreate = B.fn("cublasCreate_v2", PTR);
        static final MethodHandle cublasDestroy = B.fn("cublasDestroy_v2", LONG);
        static final MethodHandle cublasSetStream = B.fn("cublasSetStream_v2", LONG, LONG);
        static final MethodHandle cublasSetMathMode = B.fn("cublasSetMathMode", LONG, INT);
        static final MethodHandle cublasGetProperty = B.fn("cublasGetProperty", INT, PTR);
        static final MethodHandle cublasGemmStridedBatchedEx = B.fn("cublasGemmStridedBatchedEx",
                LONG, INT, INT, INT, INT, INT, PTR,
                LONG, INT, INT, LONG,
                LONG, INT, INT, LONG, PTR,
                LONG, INT, INT, LONG,
                INT, INT, INT);
    }

    public static boolean libraryLoaded() { return CudaLibraries.cublas().ok(); }

    static void check(int status, String call) {
        if (status != 0) {
            String name = statusName(status);
            throw new CudaException(call, status, name, call + " failed: " + name + " (" + status + "): " + describe(status));
        }
    }

    /** Needs a current CUDA context. */
    public static long create() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int r;
            try { r = (int) H.cublasCreate.invokeExact(out); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cublasCreate_v2");
            return out.get(LONG, 0);
        }
    }

    public static void destroy(long handle) {
        int r;
        try { r = (int) H.cublasDestroy.invokeExact(handle); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cublasDestroy_v2");
    }

    public static void setStream(long handle, long stream) {
        int r;
        try { r = (int) H.cublasSetStream.invokeExact(handle, stream); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cublasSetStream_v2");
    }

    public static void setMathMode(long handle, int mode) {
        int r;
        try { r = (int) H.cublasSetMathMode.invokeExact(handle, mode); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cublasSetMathMode(" + mode + ")");
    }

    /** "13.0.2" from cublasGetProperty (no handle or device needed). */
    public static String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            StringBuilder v = new StringBuilder();
            for (int prop = 0; prop < 3; prop++) {
                int r;
                try { r = (int) H.cublasGetProperty.invokeExact(prop, out); } catch (Throwable t) { throw rethrow(t); }
                check(r, "cublasGetProperty(" + prop + ")");
                v.append(prop == 0 ? "" : ".").append(out.get(INT, 0));
            }
            return v.toString();
        }
    }

    /** Raw column-major cublasGemmStridedBatchedEx; {@code alpha}/{@code beta} point to host floats (compute 32F). */
    public static void gemmStridedBatchedEx(long handle, int transa, int transb, int m, int n, int k,
                                            MemorySegment alpha, long a, int aType, int lda, long strideA,
                                            long b, int bType, int ldb, long strideB, MemorySegment beta,
                                            long c, int cType, int ldc, long strideC, int batch, int computeType) {
        int r;
        try {
            r = (int) H.cublasGemmStridedBatchedEx.invokeExact(handle, transa, transb, m, n, k, alpha,
                    a, aType, lda, strideA, b, bType, ldb, strideB, beta, c, cType, ldc, strideC,
                    batch, computeType, GEMM_DEFAULT);
        } catch (Throwable t) { throw rethrow(t); }
        if (r != 0) check(r, "cublasGemmStridedBatchedEx(" + (transa == OP_T ? "T" : "N") + (transb == OP_T ? "T" : "N")
                + ", m=" + m + ", n=" + n + ", k=" + k + ", lda=" + lda + ", ldb=" + ldb + ", ldc=" + ldc
                + ", batch=" + batch + ", types " + aType + "/" + bType + "/" + cType + ", compute " + computeType + ")");
    }

    /** The name of a cublasStatus_t. */
    public static String statusName(int status) {
        return switch (status) {
            case 0 -> "CUBLAS_STATUS_SUCCESS";
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cublasStatus " + status;
        };
    }

    private static String describe(int status) {
        return switch (status) {
            case 1 -> "the library was not initialised (no current CUDA context?)";
            case 3 -> "resource allocation failed (device memory full?)";
            case 7 -> "an unsupported value or parameter was passed";
            case 8 -> "the device does not support the requested feature";
            case 13 -> "the GPU program failed to execute";
            case 15 -> "the functionality requested is not supported (type or compute combination)";
            default -> "see the cuBLAS documentation";
        };
    }
}
