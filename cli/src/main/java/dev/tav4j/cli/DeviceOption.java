package dev.tav4j.cli;

import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepLoop;
import picocli.CommandLine.Option;

import java.util.Locale;

/** --device cpu|cuda|auto, --precision fp32|bf16|fp16 and --no-cuda-graphs, shared by the commands that compute. */
final class DeviceOption {
    @Option(names = "--device", defaultValue = "cpu", description = "Backend: cpu, cuda or auto (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--precision", defaultValue = "fp32",
            description = "Storage of weights and activations on the cuda backend: fp32, bf16 or fp16; accumulation is fp32 "
                    + "always. The cpu backend computes in fp32 only (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--no-cuda-graphs",
            description = "Launch every op of every denoising step instead of replaying the step captured as a CUDA graph (debugging).")
    boolean noCudaGraphs;

    Ops open() {
        if (noCudaGraphs) System.setProperty(StepLoop.DISABLE_PROPERTY, "false");
        DType p = CudaOps.parsePrecision(precision);  // a bad value fails before a device is opened
        Ops ops = Backends.select(device);
        if (ops instanceof CudaOps cuda) {
            ops = cuda.withPrecision(p);
        } else if (p != DType.F32) {
            throw new IllegalArgumentException("--precision " + precision + " needs --device cuda: the " + ops.name()
                    + " backend computes in fp32 only");
        }
        System.err.println("backend: " + ops.name() + (ops instanceof CudaOps c ? " (" + name(c.precision()) + ")" : ""));
        return ops;
    }

    /** The option's spelling of a precision. */
    static String name(DType p) {
        return switch (p) {
            case F32 -> "fp32";
            case BF16 -> "bf16";
            case F16 -> "fp16";
        };
    }

    /** The precision {@code ops} stores (fp32 for backends other than cuda). */
    static String precisionOf(Ops ops) {
        return ops instanceof CudaOps c ? name(c.precision()) : "fp32";
    }

    @Override public String toString() {
        return device + "/" + precision.toLowerCase(Locale.ROOT);
    }
}
