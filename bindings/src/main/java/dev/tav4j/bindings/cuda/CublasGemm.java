package dev.tav4j.bindings.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Row-major strided-batched GEMM on a cuBLAS handle: C[M,N] = alpha·op(A)[M,K]·op(B)[K,N] + beta·C per batch,
 * fp32 accumulation. A row-major matrix with row stride ld is the column-major transpose with the same ld, so
 * row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: cuBLAS is called with A and B swapped, M and N swapped, and each
 * operand's transpose flag carried along. TF32 for F32 inputs is off unless asked for.
 * Not thread-safe (one scalar buffer per instance, like the cuBLAS handle itself).
 */
public final class CublasGemm implements AutoCloseable {
    private final long handle;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment alpha = arena.allocate(ValueLayout.JAVA_FLOAT);
    private final MemorySegment beta = arena.allocate(ValueLayout.JAVA_FLOAT);
    private final boolean allowTf32;

    public CublasGemm(long handle, boolean allowTf32) {
        this.handle = handle;
        this.allowTf32 = allowTf32;
    }

    /** The column-major cuBLAS call that computes a row-major GEMM. */
    public record ColumnMajor(int opA, int opB, int m, int n, int k, long a, int lda, long strideA,
                              long b, int ldb, long strideB, long c, int ldc, long strideC) {}

    /**
     * Maps a row-major GEMM (device pointers, leading dimensions = row strides in elements, batch strides in
     * elements) to the column-major call. Checks the leading dimensions against the shapes.
     */
    public static ColumnMajor toColumnMajor(boolean transA, boolean transB, int m, int n, int k,
                                            long a, int lda, long strideA, long b, int ldb, long strideB,
                                            long c, int ldc, long strideC) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("gemm: negative size m=" + m + " n=" + n + " k=" + k);
        int aCols = transA ? m : k, bCols = transB ? k : n;
        if (lda < Math.max(1, aCols)) throw new IllegalArgumentException("gemm: lda=" + lda + " < " + aCols + " columns of A");
        if (ldb < Math.max(1, bCols)) throw new IllegalArgumentException("gemm: ldb=" + ldb + " < " + bCols + " columns of B");
        if (ldc < Math.max(1, n)) throw new IllegalArgumentException("gemm: ldc=" + ldc + " < " + n + " columns of C");
        return new ColumnMajor(transB ? Cublas.OP_T : Cublas.OP_N, transA ? Cublas.OP_T : Cublas.OP_N,
                n, m, k, b, ldb, strideB, a, lda, strideA, c, ldc, strideC);
    }

    /** Row-major GEMM with A, B and C of cudaDataType {@code type} (CUDA_R_32F, _16F or _16BF). */
    public void gemm(int type, boolean transA, boolean transB, int m, int n, int k, float alphaValue,
                     long a, int lda, long strideA, long b, int ldb, long strideB, float betaValue,
                     long c, int ldc, long strideC, int batch) {
        gemm(type, type, transA, transB, m, n, k, alphaValue, a, lda, strideA, b, ldb, strideB, betaValue, c, ldc, strideC, batch);
    }

    /**
     * Row-major GEMM with A and B of cudaDataType {@code abType} and C of {@code cType}, FP32 compute: equal types, or
     * CUDA_R_16F / CUDA_R_16BF inputs into a CUDA_R_32F output (a combination cublasGemmStridedBatchedEx lists for
     * CUBLAS_COMPUTE_32F), used to accumulate half-precision activations into fp32 weight gradients.
     */
    public void gemm(int abType, int cType, boolean transA, boolean transB, int m, int n, int k, float alphaValue,
                     long a, int lda, long strideA, long b, int ldb, long strideB, float betaValue,
                     long c, int ldc, long strideC, int batch) {
        if (abType != cType && cType != Cublas.CUDA_R_32F)
            throw new IllegalArgumentException("gemm: inputs of cudaDataType " + abType + " into an output of type " + cType + " are not supported");
        if (batch <= 0 || m == 0 || n == 0) return;
        ColumnMajor cm = toColumnMajor(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC);
        int compute = abType == Cublas.CUDA_R_32F && allowTf32 ? Cublas.COMPUTE_32F_FAST_TF32 : Cublas.COMPUTE_32F;
        alpha.set(ValueLayout.JAVA_FLOAT, 0, alphaValue);
        beta.set(ValueLayout.JAVA_FLOAT, 0, betaValue);
        Cublas.gemmStridedBatchedEx(handle, cm.opA(), cm.opB(), cm.m(), cm.n(), cm.k(), alpha,
                cm.a(), abType, cm.lda(), cm.strideA(), cm.b(), abType, cm.ldb(), cm.strideB(), beta,
                cm.c(), cType, cm.ldc(), cm.strideC(), batch, compute);
    }

    @Override public void close() { arena.close(); }
}
