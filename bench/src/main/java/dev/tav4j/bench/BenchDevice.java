package dev.tav4j.bench;

import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Ops;

/** What a bench reports about the backend it ran on: the device's name and the precision of its tensors. */
public final class BenchDevice {
    private BenchDevice() {}

    /** The GPU's name as the driver reports it (the device the cuda backend opened), "emulated CUDA device", or "cpu (N threads)". */
    public static String name(Ops ops) {
        return ops.deviceInfo().name();
    }

    /** fp32, bf16 or fp16: what the backend stores weights and activations in. */
    public static String precision(Ops ops) {
        return BackendSettings.precisionName(ops.precision());
    }
}
