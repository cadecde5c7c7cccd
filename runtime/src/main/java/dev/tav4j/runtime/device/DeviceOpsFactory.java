package dev.tav4j.runtime.device;

import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Ops;

import java.util.ServiceLoader;

/**
 * Makes a backend of the tav4j device kernels over any {@link DeviceApi}: the CUDA driver's, or another that runs the
 * same kernels (the host emulation, a test-only module that offers itself as backend "cuda-emu"). The kernels module
 * provides the one implementation through {@link ServiceLoader}, so such a device needs no compile-time dependency
 * on the kernels.
 */
public interface DeviceOpsFactory {
    /** The backend named {@code name} over {@code device} (which stays open, as a device does for the life of the process), set up by {@code settings}. */
    Ops create(DeviceApi device, String name, BackendSettings settings);

    /** The factory on the class path; throws (one line) when the kernels module is missing. */
    static DeviceOpsFactory find() {
        return ServiceLoader.load(DeviceOpsFactory.class).findFirst().orElseThrow(() ->
                new IllegalStateException("no " + DeviceOpsFactory.class.getSimpleName() + " on the class path (the tav4j-kernels jar is missing)"));
    }
}
