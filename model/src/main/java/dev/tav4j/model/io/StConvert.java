package dev.tav4j.model.io;

import dev.tav4j.runtime.Parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Conversions from the stored little-endian dtypes to F32 (as PyTorch's .float()) and to longs. */
final class StConvert {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    private static final int GRAIN = 1 << 16;

    private StConvert() {}

    static void toF32(StDType dtype, MemorySegment src, MemorySegment dst, long n) {
        if (dtype == StDType.F32) {
            MemorySegment.copy(src, F32_LE, 0, dst, F32, 0, n);
            return;
        }
        if (n > Integer.MAX_VALUE) { // no single weight is this big; keep the parallel split in int range
            convert(dtype, src, dst, 0, n);
            return;
        }
        Parallel.forRange((int) n, GRAIN, (lo, hi) -> convert(dtype, src, dst, lo, hi));
    }

    private static void convert(StDType dtype, MemorySegment src, MemorySegment dst, long lo, long hi) {
        switch (dtype) {
            case F16 -> { for (long i = lo; i < hi; i++) dst.setAtIndex(F32, i, Float.float16ToFloat(src.getAtIndex(I16_LE, i))); }
            case BF16 -> { for (long i = lo; i < hi; i++) dst.setAtIndex(F32, i, Float.intBitsToFloat((src.getAtIndex(I16_LE, i) & 0xFFFF) << 16)); }
            case F64 -> { for (long i = lo; i < hi; i++) dst.setAtIndex(F32, i, (float) src.getAtIndex(F64_LE, i)); }
            case I64 -> { for (long i = lo; i < hi; i++) dst.setAtIndex(F32, i, (float) src.getAtIndex(I64_LE, i)); }
            case I32 -> { for (long i = lo; i < hi; i++) dst.setAtIndex(F32, i, (float) src.getAtIndex(I32_LE, i)); }
            case U32 -> { for (long i = lo; i < hi; i++) dst.setAtIndex(F32, i, (float) (src.getAtIndex(I32_LE, i) & 0xFFFFFFFFL)); }
            case I16 -> { for (long i = lo; i < hi; i++) dst.setAtIndex(F32, i, src.getAtIndex(I16_LE, i)); }
            case U16 -> { for (long i = lo; i < hi; i++) dst.setAtIndex(F32, i, src.getAtIndex(I16_LE, i) & 0xFFFF); }
            case I8 -> { for (long i = lo; i < hi; i++) dst.setAtIndex(F32, i, src.get(ValueLayout.JAVA_BYTE, i)); }
            case U8, BOOL -> { for (long i = lo; i < hi; i++) dst.setAtIndex(F32, i, src.get(ValueLayout.JAVA_BYTE, i) & 0xFF); }
            default -> throw new IllegalArgumentException("no F32 conversion for " + dtype);
        }
    }

    static long[] toLongs(StDType dtype, MemorySegment src, int n) {
        long[] out = new long[n];
        switch (dtype) {
            case I64 -> MemorySegment.copy(src, I64_LE, 0, out, 0, n);
            case I32 -> { for (int i = 0; i < n; i++) out[i] = src.getAtIndex(I32_LE, i); }
            case U32 -> { for (int i = 0; i < n; i++) out[i] = src.getAtIndex(I32_LE, i) & 0xFFFFFFFFL; }
            case I16 -> { for (int i = 0; i < n; i++) out[i] = src.getAtIndex(I16_LE, i); }
            case U16 -> { for (int i = 0; i < n; i++) out[i] = src.getAtIndex(I16_LE, i) & 0xFFFF; }
            case I8 -> { for (int i = 0; i < n; i++) out[i] = src.get(ValueLayout.JAVA_BYTE, i); }
            case U8, BOOL -> { for (int i = 0; i < n; i++) out[i] = src.get(ValueLayout.JAVA_BYTE, i) & 0xFF; }
            default -> throw new IllegalArgumentException("no integer conversion for " + dtype);
        }
        return out;
    }
}
