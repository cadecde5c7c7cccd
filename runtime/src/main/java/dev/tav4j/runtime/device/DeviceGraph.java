package dev.tav4j.runtime.device;

/**
 * The device work of one step, recorded once by {@link DeviceApi#beginCapture()} / {@link DeviceApi#endCapture()}
 * and replayed with one call: a CUDA graph on a GPU, a list of recorded launches in the emulation. Kernel
 * arguments (addresses and scalars) are fixed at capture; what changes from step to step must be read by the
 * kernels from device memory the host rewrites before each replay. The device blocks the step used stay
 * reserved for the graph until {@link #close()}, so replays write nowhere else.
 */
public interface DeviceGraph extends AutoCloseable {
    /** Enqueues the recorded work on the device's stream (asynchronous on a GPU). */
    void replay();

    /** How many operations (launches, GEMMs, copies, memsets) were recorded; -1 where not known. */
    int operations();

    /** Destroys the graph and gives its reserved device blocks back to the pool. */
    @Override void close();
}
