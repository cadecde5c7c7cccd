package dev.tav4j.runtime;

/**
 * What a backend computes on, as facts the layers above may print or look up (e.g. a benchmark's peak throughput
 * by name), without knowing the backend's types.
 *
 * @param name        the device's name as its driver reports it ("NVIDIA H100 80GB HBM3"), "cpu (N threads)", or
 *                    "emulated CUDA device"
 * @param description one line with more (compute capability, driver, memory, or the emulation's library)
 * @param totalBytes  the device's memory, or -1 for host memory (the cpu backend)
 * @param emulated    whether this is the host emulation of a device rather than the device
 */
public record DeviceInfo(String name, String description, long totalBytes, boolean emulated) {
    /** The cpu backend's: host memory, all cores. */
    public static DeviceInfo cpu() {
        return new DeviceInfo("cpu (" + Parallel.THREADS + " threads)", "the host's cores (" + Parallel.THREADS + " threads)", -1, false);
    }
}
