package dev.tav4j.model;

import dev.tav4j.kernels.cuda.EmulatedDeviceApi;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;


/** Test support shared by the model tests that run the CUDA backend over the host emulation of its kernels. */
public final class Emulation {
    private Emulation() {}

    /**
     * Skips (with the build's reason) only when the build recorded that g++ is missing; a library that should exist
     * but does not is a failure, so CI cannot silently skip the emulated tests.
     */
    public static void require() {
        if (EmulatedDeviceApi.locate() != null) return;
        Assumptions.assumeFalse(EmulatedDeviceApi.compilerMissing(), EmulatedDeviceApi.unavailableReason());
        Assertions.fail(EmulatedDeviceApi.unavailableReason());
    }

    /** max |got - ref| / max |ref|, infinite when got holds a non-finite value: the emulated model tests' metric. */
    public static double relError(float[] got, float[] ref) {
        double err = 0, scale = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Float.isFinite(got[i])) return Double.POSITIVE_INFINITY;
            err = Math.max(err, Math.abs(got[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return err / scale;
    }
}
