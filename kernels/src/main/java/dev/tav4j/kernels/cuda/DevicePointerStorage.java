package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.Device;
import dev.tav4j.runtime.Storage;
import dev.tav4j.runtime.device.DeviceApi;

/**
 * Device memory for a tensor: a pointer from {@link DeviceApi#alloc}, given back with {@link DeviceApi#free}.
 * Minimal stand-in until the bindings' pooled device storage is merged; {@link CudaOps} only needs
 * {@link #pointer()}.
 */
public final class DevicePointerStorage implements Storage {
    private final DeviceApi api;
    private final long pointer;
    private final long bytes;
    private boolean released;

    public DevicePointerStorage(DeviceApi api, long bytes) {
        this.api = api;
        this.bytes = bytes;
        this.pointer = api.alloc(Math.max(bytes, 1));
    }

    /** The device address of the first byte. */
    public long pointer() {
        if (released) throw new IllegalStateException("device tensor storage used after it was released");
        return pointer;
    }

    @Override public long byteSize() { return bytes; }

    @Override public Device device() { return Device.CUDA; }

    @Override public synchronized void release() {
        if (released) return;
        released = true;
        api.free(pointer);
    }
}
