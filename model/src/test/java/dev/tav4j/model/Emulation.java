package dev.tav4j.model;

import dev.tav4j.emulation.EmulatedDeviceApi;
import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.runtime.BackendSettings;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Path;

/** Test support shared by the model tests that run the CUDA backend over the host emulation of its kernels. */
public final class Emulation {
    private Emulation() {}

    /** The library the build made ({@code -Dtav.emu.lib}, set by this module's pom), or null for the default places. */
    public static Path library() {
        String p = System.getProperty(BackendSettings.EMULATION_LIBRARY_PROPERTY);
        return p == null ? null : Path.of(p);
    }

    /** The default settings with the build's emulation library: what the emulated tests build their backends with. */
    public static BackendSettings settings() {
        return BackendSettings.DEFAULTS.withEmulationLibrary(library());
    }

    /**
     * Skips (with the build's reason) only when the build recorded that g++ is missing; a library that should exist
     * but does not is a failure, so CI cannot silently skip the emulated tests.
     */
    public static void require() {
        if (EmulatedDeviceApi.locate(library()) != null) return;
        Assumptions.assumeFalse(EmulatedDeviceApi.compilerMissing(library()), EmulatedDeviceApi.unavailableReason(library()));
        Assertions.fail(EmulatedDeviceApi.unavailableReason(library()));
    }

    /** A fresh emulated device (after {@link #require()}). */
    public static EmulatedDeviceApi device() {
        return device(Long.MAX_VALUE);
    }

    /** A fresh emulated device of {@code capBytes}: allocations beyond it run out of memory. */
    public static EmulatedDeviceApi device(long capBytes) {
        require();
        return EmulatedDeviceApi.open(library(), capBytes);
    }

    /** The cuda backend (F32, default settings) over a fresh emulated device: what "cuda-emu" gives. */
    public static CudaOps cuda() {
        return new CudaOps(device(), "cuda-emu", settings());
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
