package dev.tav4j.bench;

import dev.tav4j.bindings.cuda.CuDriver;
import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Parallel;

/** What a bench reports about the backend it ran on: the device's name and the precision of its tensors. */
public final class BenchDevice {
    private BenchDevice() {}

    /** The GPU's name as the driver reports it (device 0, the one the cuda backend opens), or "cpu (N threads)". */
    public static String name(Ops ops) {
        if (!(ops instanceof CudaOps)) return "cpu (" + Parallel.THREADS + " threads)";
        try {
            return CuDriver.deviceName(CuDriver.device(0));
        } catch (RuntimeException | LinkageError e) {
            return "cuda device (name unavailable: " + e.getMessage() + ")"; // e.g. the emulated device
        }
    }

    /** fp32, bf16 or fp16: what the backend stores weights and activations in. */
    public static String precision(Ops ops) {
        return ops instanceof CudaOps c ? UNetBench.precisionName(c.precision()) : "fp32";
    }
}
