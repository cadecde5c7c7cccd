package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceOpsFactory;

/** {@link DeviceOpsFactory} of the kernels module: a {@link CudaOps} over the given device (registered for ServiceLoader). */
public final class CudaOpsFactory implements DeviceOpsFactory {
    @Override public Ops create(DeviceApi device, String name, BackendSettings settings) {
        return new CudaOps(device, name, settings);
    }
}
