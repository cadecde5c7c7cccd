package dev.tav4j.cli;

import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import picocli.CommandLine.Option;

/** --device cpu|cuda|auto, shared by the commands that compute. */
final class DeviceOption {
    @Option(names = "--device", defaultValue = "cpu", description = "Backend: cpu, cuda or auto (default: ${DEFAULT-VALUE}).")
    String device;

    Ops open() {
        Ops ops = Backends.select(device);
        System.err.println("backend: " + ops.name());
        return ops;
    }
}
