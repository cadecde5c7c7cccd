package dev.tav4j.kernels.cuda;

import dev.tav4j.emulation.EmulatedDeviceApi;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Shared test support: one CudaOps over the emulated device for the whole run, random data, error metrics. */
final class Emu {
    private static CudaOps ops;

    private Emu() {}

    /**
     * The emulated backend. Skips (with the build's reason) only when the build recorded that g++ is missing;
     * a library that should exist but does not is a failure, so CI cannot silently skip these tests.
     */
    static synchronized CudaOps ops() {
        if (ops != null) return ops;
        ops = new CudaOps(device(), "cuda-emu");
        return ops;
    }

    /** The library the build made ({@code -Dtav.emu.lib}, set by the kernels module's pom), or null for the default places. */
    static Path library() {
        String p = System.getProperty("tav.emu.lib");
        return p == null ? null : Path.of(p);
    }

    /** A fresh emulated device (of {@code capBytes}); skips or fails as {@link #ops()} when the library is missing. */
    static EmulatedDeviceApi device(long capBytes) {
        if (EmulatedDeviceApi.locate(library()) == null) {
            Assumptions.assumeFalse(EmulatedDeviceApi.compilerMissing(library()), EmulatedDeviceApi.unavailableReason(library()));
            fail(EmulatedDeviceApi.unavailableReason(library()));
        }
        return EmulatedDeviceApi.open(library(), capBytes);
    }

    static EmulatedDeviceApi device() {
        return device(Long.MAX_VALUE);
    }

    static float[] random(Random r, int n, float offset) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() + offset);
        return a;
    }

    static Tensor up(float[] values, int... shape) {
        try (Tensor h = Tensor.of(values, shape)) {
            return ops().upload(h);
        }
    }

    static float[] down(Tensor t) {
        try (Tensor h = ops().download(t)) {
            return h.toArray();
        }
    }

    /** max |got − ref| / max |ref|, the project's parity metric. */
    static double relError(float[] got, float[] ref) {
        if (got.length != ref.length) throw new AssertionError(got.length + " values, expected " + ref.length);
        double err = 0, scale = 0;
        for (int i = 0; i < ref.length; i++) {
            if (Float.isNaN(got[i])) return Double.POSITIVE_INFINITY;
            err = Math.max(err, Math.abs(got[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return err / Math.max(scale, 1e-30);
    }

    static void assertClose(String what, float[] got, float[] ref, double tol) {
        double e = relError(got, ref);
        assertTrue(e <= tol, what + ": relative error " + e + " above " + tol);
    }
}
