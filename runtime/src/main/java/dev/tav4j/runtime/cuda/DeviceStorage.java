package dev.tav4j.runtime.cuda;

import dev.tav4j.runtime.Device;
import dev.tav4j.runtime.Storage;
import dev.tav4j.runtime.device.DeviceApi;

/** Device memory for a tensor: a pointer from {@link DeviceApi#alloc}, given back with {@link DeviceApi#free} on release. */
public final class DeviceStorage implements Storage {
    private final DeviceApi api;
    private final long pointer;
    private final long byteSize;
    private boolean released;

    private DeviceStorage(DeviceApi api, long pointer, long byteSize) {
        this.api = api;
        this.pointer = pointer;
        this.byteSize = byteSize;
    }

    /** {@code bytes} of uninitialised device memory. */
    public static DeviceStorage allocate(DeviceApi api, long bytes) {
        return new DeviceStorage(api, api.alloc(bytes), bytes);
    }

    /** The device address; fails after {@link #release}. */
    public synchronized long pointer() {
        if (released) throw new IllegalStateException("device storage of " + byteSize + " bytes used after release");
        return pointer;
    }

    public DeviceApi api() { return api; }

    @Override public long byteSize() { return byteSize; }

    @Override public Device device() { return Device.CUDA; }

    @Override public synchronized void release() {
        if (released) return;
        released = true;
        api.free(pointer);
    }
}
