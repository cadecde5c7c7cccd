package dev.tav4j.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tav4j.runtime.device.DeviceApi.GemmType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Row-major strided-batched GEMM through cuBLAS against a double-precision Java reference computed from the
 * same (rounded) inputs. Tolerances, |got − ref| ≤ atol + rtol·|ref| with values in [−1, 1] and K = 130:
 * F32 (FP32 compute, no TF32): 2e-4 + 1e-5; F16 out: 1e-3 + 1e-3 (half an ulp of fp16 is 4.9e-4 relative);
 * BF16 out: 8e-3 + 8e-3 (half an ulp of bf16 is 3.9e-3 relative).
 */
@Tag("gpu")
class CublasGemmGpuTest {
    private static CudaDeviceApi api;

    @BeforeAll static void open() { api = Gpu.open(); }

    @AfterAll static void close() { if (api != null) api.close(); }

    static short toBf16(float f) {
        int b = Float.floatToRawIntBits(f);
        b += 0x7fff + ((b >>> 16) & 1);               // round to nearest even
        return (short) (b >>> 16);
    }

    static float round(GemmType t, float v) {
        return switch (t) {
            case F32 -> v;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            case BF16 -> Float.intBitsToFloat((toBf16(v) & 0xffff) << 16);
        };
    }

    static void put(MemorySegment s, GemmType t, long i, float v) {
        switch (t) {
            case F32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            case F16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(v));
            case BF16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, i, toBf16(v));
        }
    }

    static float get(MemorySegment s, GemmType t, long i) {
        return switch (t) {
            case F32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            case F16 -> Float.float16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT, i));
            case BF16 -> Float.intBitsToFloat((s.getAtIndex(ValueLayout.JAVA_SHORT, i) & 0xffff) << 16);
        };
    }

    static int size(GemmType t) { return t == GemmType.F32 ? 4 : 2; }

    private static void check(GemmType t, boolean ta, boolean tb, double atol, double rtol) {
        int m = 67, n = 45, k = 130, batch = 3;
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
        long sa = (long) (ta ? k : m) * lda, sb = (long) (tb ? n : k) * ldb, sc = (long) m * ldc + 5;
        float alpha = 0.75f, beta = 0.5f;
        Random rnd = new Random(7 + t.ordinal() * 4 + (ta ? 2 : 0) + (tb ? 1 : 0));
        float[] av = new float[(int) (sa * batch)], bv = new float[(int) (sb * batch)], cv = new float[(int) (sc * batch)];
        for (float[] arr : new float[][] {av, bv, cv})
            for (int i = 0; i < arr.length; i++) arr[i] = round(t, rnd.nextFloat() * 2 - 1);
        int es = size(t);
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment ha = ar.allocate((long) av.length * es), hb = ar.allocate((long) bv.length * es),
                    hc = ar.allocate((long) cv.length * es);
            for (int i = 0; i < av.length; i++) put(ha, t, i, av[i]);
            for (int i = 0; i < bv.length; i++) put(hb, t, i, bv[i]);
            for (int i = 0; i < cv.length; i++) put(hc, t, i, cv[i]);
            long da = api.alloc(ha.byteSize()), db = api.alloc(hb.byteSize()), dc = api.alloc(hc.byteSize());
            api.copyToDevice(ha, da, ha.byteSize());
            api.copyToDevice(hb, db, hb.byteSize());
            api.copyToDevice(hc, dc, hc.byteSize());
            api.gemm(t, ta, tb, m, n, k, alpha, da, lda, sa, db, ldb, sb, beta, dc, ldc, sc, batch);
            api.copyToHost(dc, hc, hc.byteSize());
            double worst = 0;
            for (int p = 0; p < batch; p++)
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int l = 0; l < k; l++) {
                            double x = ta ? av[(int) (p * sa + (long) l * lda + i)] : av[(int) (p * sa + (long) i * lda + l)];
                            double y = tb ? bv[(int) (p * sb + (long) j * ldb + l)] : bv[(int) (p * sb + (long) l * ldb + j)];
                            s += x * y;
                        }
                        long ci = p * sc + (long) i * ldc + j;
                        double ref = alpha * s + beta * cv[(int) ci];
                        double got = get(hc, t, ci);
                        double err = Math.abs(got - ref);
                        worst = Math.max(worst, err / (atol + rtol * Math.abs(ref)));
                        if (err > atol + rtol * Math.abs(ref))
                            throw new AssertionError(t + " transA=" + ta + " transB=" + tb + " C[" + p + "][" + i + "][" + j
                                    + "] = " + got + ", reference " + ref + ", error " + err);
                    }
            // the padding between rows and batches of C is untouched
            for (int p = 0; p < batch; p++)
                for (int i = 0; i < m; i++)
                    for (int j = n; j < ldc && p * sc + (long) i * ldc + j < cv.length; j++) {
                        long ci = p * sc + (long) i * ldc + j;
                        assertTrue(get(hc, t, ci) == cv[(int) ci], "padding C[" + ci + "] was written");
                    }
            System.out.printf("gemm %s transA=%b transB=%b: worst error %.2f of tolerance%n", t, ta, tb, worst);
            api.free(da);
            api.free(db);
            api.free(dc);
        }
    }

    private static void allTransposes(GemmType t, double atol, double rtol) {
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) check(t, ta, tb, atol, rtol);
    }

    @Test void f32() { allTransposes(GemmType.F32, 2e-4, 1e-5); }

    @Test void f16() { allTransposes(GemmType.F16, 1e-3, 1e-3); }

    @Test void bf16() { allTransposes(GemmType.BF16, 8e-3, 8e-3); }

    @Test void throughput() {
        int s = 4096;
        for (GemmType t : GemmType.values()) {
            long bytes = (long) s * s * size(t);
            long a = api.alloc(bytes), b = api.alloc(bytes), c = api.alloc(bytes);
            api.memset(a, 0x3c, bytes);
            api.memset(b, 0x3c, bytes);
            try (EventTimer timer = api.timer()) {
                api.gemm(t, false, false, s, s, s, 1f, a, s, 0, b, s, 0, 0f, c, s, 0, 1);
                int reps = 10;
                float ms = timer.time(() -> {
                    for (int i = 0; i < reps; i++) api.gemm(t, false, false, s, s, s, 1f, a, s, 0, b, s, 0, 0f, c, s, 0, 1);
                }) / reps;
                double tflops = 2.0 * s * s * s / (ms * 1e-3) / 1e12;
                Gpu.measure("cuBLAS GEMM 4096^3 " + t + (t == GemmType.F32 ? " (no TF32)" : "") ,
                        String.format("%.3f ms, %.1f TFLOP/s", ms, tflops));
                assertTrue(tflops > 0.1, t + " GEMM ran at " + tflops + " TFLOP/s");
            } finally {
                api.free(a);
                api.free(b);
                api.free(c);
            }
        }
    }
}
