package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host emulation as a backend: found by the ServiceLoader only because the test-only emulation jar is on this
 * class path, made with the settings it is given, and never picked by {@code auto}.
 */
class EmulatedBackendTest {
    @Test
    void cudaEmuIsABackendHereButAutoNeverPicksIt() {
        BackendProvider emu = Backends.provider("cuda-emu").orElseThrow(() -> new AssertionError("no cuda-emu provider"));
        assertFalse(emu.selectedByAuto());
        try (CloseableOps auto = closeable(Backends.select("auto"))) {
            assertNotEquals("cuda-emu", auto.name());
        }
    }

    @Test
    void theSettingsReachTheEmulatedBackend() {
        Emu.ops();  // skips or fails with the build's reason when the library is missing
        BackendSettings s = BackendSettings.DEFAULTS.withEmulationLibrary(Emu.library()).withPrecision(DType.BF16)
                .withCudaGraphs(false).withFuseResiduals(false);
        try (CudaOps ops = (CudaOps) Backends.select("cuda-emu", s)) {
            assertEquals("cuda-emu", ops.name());
            assertEquals(DType.BF16, ops.precision());
            assertEquals(s, ops.settings());
            assertTrue(ops.deviceInfo().emulated(), ops.deviceInfo().toString());
            assertEquals("emulated CUDA device", ops.deviceInfo().name());
            assertTrue(ops.kernelTiming().isPresent() && ops.kernelCheck().isPresent());
        }
    }

    /** An Ops as an AutoCloseable (the cpu backend has nothing to close). */
    private static CloseableOps closeable(Ops ops) {
        return new CloseableOps(ops);
    }

    private record CloseableOps(Ops ops) implements AutoCloseable {
        String name() { return ops.name(); }

        @Override public void close() {
            if (ops instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }
}
