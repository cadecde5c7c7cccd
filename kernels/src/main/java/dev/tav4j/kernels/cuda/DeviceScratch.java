package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.device.DeviceApi;

/**
 * One growable device buffer for short-lived kernel workspaces (GroupNorm partial statistics, uploaded ids and
 * timesteps). Work is ordered on one stream, so consecutive ops may reuse it; growing synchronises first so
 * no queued kernel still reads the old buffer.
 */
final class DeviceScratch implements AutoCloseable {
    private final DeviceApi api;
    private long pointer;
    private long bytes;

    DeviceScratch(DeviceApi api) {
        this.api = api;
    }

    /** A device buffer of at least {@code need} bytes, valid until the next call. */
    long get(long need) {
        if (need > bytes) {
            if (pointer != 0) {
                api.synchronize();
                api.free(pointer);
                pointer = 0;
            }
            long size = Math.max(need, Math.max(64 * 1024, bytes * 2));
            pointer = api.alloc(size);
            bytes = size;
        }
        return pointer;
    }

    @Override public void close() {
        if (pointer != 0) api.free(pointer);
        pointer = 0;
        bytes = 0;
    }
}
