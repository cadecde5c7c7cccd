package dev.tav4j.cli;

import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.kernels.cuda.EmulatedBackend;
import dev.tav4j.kernels.cuda.SelfCheck;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepLoop;
import picocli.CommandLine.Option;

import java.util.Locale;

/** --device cpu|cuda|auto, --precision fp32|bf16|fp16 and --no-cuda-graphs, shared by the commands that compute. */
final class DeviceOption {
    @Option(names = "--device", defaultValue = "cpu", description = "Backend: cpu, cuda or auto; cuda-emu is the host emulation of the CUDA kernels (slow; tests) (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--precision", defaultValue = "fp32",
            description = "Storage of weights and activations on the cuda backend: fp32, bf16 or fp16; accumulation is fp32 "
                    + "always. The cpu backend computes in fp32 only (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--no-cuda-graphs",
            description = "Launch every op of every denoising step instead of replaying the step captured as a CUDA graph (debugging).")
    boolean noCudaGraphs;

    @Option(names = "--no-self-check",
            description = "Skip the GPU self-check that runs on the first use of a device, driver and kernel build (see 'tav doctor').")
    boolean noSelfCheck;

    Ops open() {
        if (noCudaGraphs) System.setProperty(StepLoop.DISABLE_PROPERTY, "false");
        DType p = CudaOps.parsePrecision(precision);  // a bad value fails before a device is opened
        Ops ops = device.equals(EmulatedBackend.NAME) ? EmulatedBackend.create() : Backends.select(device);
        if (ops instanceof CudaOps cuda) {
            ops = cuda.withPrecision(p);
            if (!noSelfCheck) selfCheck((CudaOps) ops);
        } else if (p != DType.F32) {
            throw new IllegalArgumentException("--precision " + precision + " needs --device cuda: the " + ops.name()
                    + " backend computes in fp32 only");
        }
        System.err.println("backend: " + ops.name() + (ops instanceof CudaOps c ? " (" + name(c.precision()) + ")" : ""));
        return ops;
    }

    /**
     * The GPU self-check of this device in this precision: from the cache, else run now (seconds) and cached; a failed
     * tensor-core family falls back to its CUDA-core kernels with one warning line, any other failure stops here.
     */
    private static void selfCheck(CudaOps ops) {
        SelfCheck.Report r = SelfCheck.cached(ops, ops.precision(), DoctorCommand.defaultCacheDir());
        if (!r.cached())
            System.err.printf(Locale.ROOT, "GPU self-check (first use of this device and kernel build, %s): %d kernel families in %.1f s%n",
                    name(ops.precision()), r.results().size(), r.seconds());
        for (String w : SelfCheck.apply(ops, r)) System.err.println(w);
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
