package dev.tav4j.emulation;

import dev.tav4j.runtime.device.DeviceApi.GemmType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The emulated device's GEMM: row-major strided-batched, fp32 accumulation, as {@code DeviceApi.gemm} specifies. */
final class HostGemm {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort H = ValueLayout.JAVA_SHORT_UNALIGNED;

    private HostGemm() {}

    static void run(GemmType t, boolean transA, boolean transB, int m, int n, int k, float alpha,
                    long a, int lda, long strideA, long b, int ldb, long strideB, float beta,
                    long c, int ldc, long strideC, int batch) {
        run(t, t, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
    }

    /** A and B of type {@code t}, C of type {@code ct} (equal, or F16/BF16 inputs into F32, as cuBLAS allows). */
    static void run(GemmType t, GemmType ct, boolean transA, boolean transB, int m, int n, int k, float alpha,
                    long a, int lda, long strideA, long b, int ldb, long strideB, float beta,
                    long c, int ldc, long strideC, int batch) {
        if (t != ct && ct != GemmType.F32)
            throw new UnsupportedOperationException("emulated GEMM: no " + t + " inputs into a " + ct + " output");
        MemorySegment all = MemorySegment.ofAddress(0).reinterpret(Long.MAX_VALUE);
        int es = t == GemmType.F32 ? 4 : 2, ces = ct == GemmType.F32 ? 4 : 2;
        for (int bi = 0; bi < batch; bi++) {
            long ab = a + (long) bi * strideA * es, bb = b + (long) bi * strideB * es, cb = c + (long) bi * strideC * ces;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    float acc = 0f;
                    for (int p = 0; p < k; p++) {
                        long ia = transA ? (long) p * lda + i : (long) i * lda + p;
                        long ib = transB ? (long) j * ldb + p : (long) p * ldb + j;
                        acc += get(all, t, ab + ia * es) * get(all, t, bb + ib * es);
                    }
                    long ic = cb + ((long) i * ldc + j) * ces;
                    float prev = beta == 0f ? 0f : beta * get(all, ct, ic);  // beta 0 ignores C, as BLAS does
                    put(all, ct, ic, alpha * acc + prev);
                }
            }
        }
    }

    /** float to bfloat16 bits, round to nearest even (as __float2bfloat16 on the device). */
    private static short bf16(float v) {
        int f = Float.floatToRawIntBits(v);
        if ((f & 0x7fffffff) > 0x7f800000) return (short) ((f >>> 16) | 0x40);  // quiet NaN
        f += 0x7fff + ((f >>> 16) & 1);
        return (short) (f >>> 16);
    }

    private static float get(MemorySegment s, GemmType t, long addr) {
        return switch (t) {
            case F32 -> s.get(F, addr);
            case F16 -> Float.float16ToFloat(s.get(H, addr));
            case BF16 -> Float.intBitsToFloat((s.get(H, addr) & 0xffff) << 16);
        };
    }

    private static void put(MemorySegment s, GemmType t, long addr, float v) {
        switch (t) {
            case F32 -> s.set(F, addr, v);
            case F16 -> s.set(H, addr, Float.floatToFloat16(v));
            case BF16 -> s.set(H, addr, bf16(v));
        }
    }
}
