package dev.tav4j.cli;

import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.KernelCheck;
import dev.tav4j.runtime.Ops;
import picocli.CommandLine.Option;

import java.util.Locale;

/**
 * --device cpu|cuda|auto, --precision fp32|bf16|fp16 and --no-cuda-graphs, shared by the commands that compute: they
 * and the process's environment ({@link CliEnvironment}) become one {@link BackendSettings} the backend is made with.
 */
final class DeviceOption implements CliEnvironment.Aware {
    /** The host emulation's backend: test support, on the class path only in the tests (never in the shipped jar). */
    static final String EMULATION = "cuda-emu";

    @Option(names = "--device", defaultValue = "cpu", description = "Backend: cpu, cuda or auto; cuda-emu is the host emulation of the CUDA kernels "
            + "(slow; only where the test-only emulation module is on the class path) (default: ${DEFAULT-VALUE}).")
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

    private CliEnvironment env;

    @Override public void environment(CliEnvironment env) { this.env = env; }

    /** The process's environment, as {@link Main} read it. */
    CliEnvironment env() {
        if (env == null) env = CliEnvironment.read();
        return env;
    }

    /** The backend settings of this command line: the environment's, with --precision and --no-cuda-graphs applied. */
    BackendSettings settings(DType precision) {
        BackendSettings s = env().backend().withPrecision(precision);
        return noCudaGraphs ? s.withCudaGraphs(false) : s;
    }

    Ops open() {
        DType p = BackendSettings.parsePrecision(precision);  // a bad value fails before a device is opened
        Ops ops = select(device, settings(p));
        if (ops.precision() != p)
            throw new IllegalArgumentException("--precision " + precision + " needs --device cuda: the " + ops.name()
                    + " backend computes in fp32 only");
        if (!noSelfCheck) ops.kernelCheck().ifPresent(c -> selfCheck(c, ops.precision()));
        System.err.println("backend: " + ops.name() + (ops.computesOnHost() ? "" : " (" + name(ops.precision()) + ")"));
        return ops;
    }

    /** The backend named {@code name} made with {@code settings}; the emulation, where it is not installed, is one plain line. */
    static Ops select(String name, BackendSettings settings) {
        if (name.equals(EMULATION) && Backends.provider(EMULATION).isEmpty())
            throw new IllegalStateException("--device " + EMULATION + " is not installed: the host emulation of the CUDA kernels is test support"
                    + " (module tav4j-emulation, on the class path in the tests), not part of this build; use --device cuda or cpu");
        return Backends.select(name, settings);
    }

    /**
     * The self-check of this device in this precision: from the cache, else run now (seconds) and cached; a failed
     * family with a fallback (tensor cores) falls back with one warning line, any other failure stops here.
     */
    private void selfCheck(KernelCheck check, DType precision) {
        KernelCheck.Report r = check.check(precision, env().cacheDir(), false);
        if (!r.cached())
            System.err.printf(Locale.ROOT, "GPU self-check (first use of this device and kernel build, %s): %d kernel families in %.1f s%n",
                    name(precision), r.lines().size(), r.seconds());
        for (String w : check.apply(r)) System.err.println(w);
    }

    /** The option's spelling of a precision. */
    static String name(DType p) {
        return BackendSettings.precisionName(p);
    }

    /** The precision {@code ops} stores (fp32 for backends other than cuda). */
    static String precisionOf(Ops ops) {
        return name(ops.precision());
    }

    @Override public String toString() {
        return device + "/" + precision.toLowerCase(Locale.ROOT);
    }
}
