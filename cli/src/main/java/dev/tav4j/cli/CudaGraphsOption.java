package dev.tav4j.cli;

import picocli.CommandLine.Option;

/** --cuda-graphs on|off of the step benchmarks (the A/B switch; --no-cuda-graphs of {@link DeviceOption} wins). */
final class CudaGraphsOption {
    @Option(names = "--cuda-graphs", defaultValue = "on",
            description = "on: after an eager first step, the step is captured once as a CUDA graph and replayed; off: launched op by op (default: ${DEFAULT-VALUE}).")
    String value;

    /** Whether steps are captured, given the device options; a value other than on/off is an error naming it. */
    boolean on(DeviceOption device) {
        if (!value.equals("on") && !value.equals("off"))
            throw new IllegalArgumentException("--cuda-graphs must be on or off, got '" + value + "'");
        return value.equals("on") && !device.noCudaGraphs;
    }
}
