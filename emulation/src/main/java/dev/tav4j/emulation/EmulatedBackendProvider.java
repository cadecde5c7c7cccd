package dev.tav4j.emulation;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.device.DeviceOpsFactory;

import java.nio.file.Path;

/**
 * The CUDA backend over the host emulation, named "cuda-emu" so it can never pass for a GPU. For tests and debugging
 * only: it is registered with the ServiceLoader by this test-only module, so it exists only where this jar is on the
 * class path (the tests, CI), and {@code auto} never picks it. The backend itself is the kernels module's
 * ({@link DeviceOpsFactory}) over an {@link EmulatedDeviceApi}.
 */
public final class EmulatedBackendProvider implements BackendProvider {
    public static final String NAME = "cuda-emu";

    @Override public String name() { return NAME; }

    @Override public int priority() { return -100; }

    @Override public boolean selectedByAuto() { return false; }

    @Override public Availability probe(BackendSettings settings) {
        Path lib = EmulatedDeviceApi.locate(settings.emulationLibrary());
        return lib != null ? Availability.yes("host emulation of the CUDA kernels (" + lib + "; slow, for tests)")
                : Availability.no(EmulatedDeviceApi.unavailableReason(settings.emulationLibrary()));
    }

    /** The cuda backend's ops over a fresh {@link EmulatedDeviceApi}; throws with the reason when the library is not built. */
    @Override public Ops create(BackendSettings settings) {
        return create(settings, Long.MAX_VALUE);
    }

    /** As {@link #create(BackendSettings)}, on an emulated device of {@code capBytes} (out of memory beyond it). */
    public static Ops create(BackendSettings settings, long capBytes) {
        EmulatedDeviceApi api = EmulatedDeviceApi.open(settings.emulationLibrary(), capBytes);
        try {
            return DeviceOpsFactory.find().create(api, NAME, settings);
        } catch (RuntimeException | Error e) {
            api.close();
            throw e;
        }
    }
}
