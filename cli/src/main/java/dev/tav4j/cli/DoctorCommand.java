package dev.tav4j.cli;

import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.KernelCheck;
import dev.tav4j.runtime.Ops;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code tav doctor}: the GPU self-check as a table; exit 0 when every kernel family passes, 1 otherwise. */
@Command(name = "doctor", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = "Check every CUDA kernel family against the CPU backend on small shapes (seconds); exit 1 if one fails.")
final class DoctorCommand implements Callable<Integer>, CliEnvironment.Aware {
    @Option(names = "--device", defaultValue = "cuda", description = "cuda, or cuda-emu (the host emulation of the kernels: test support, "
            + "present only where the test-only emulation module is on the class path, as in CI).")
    String device;

    @Option(names = "--precision", split = ",", defaultValue = "fp32,bf16,fp16", description = "Precisions to check, comma-separated.")
    List<String> precisions;

    @Option(names = "--cache-dir", description = "Where results are cached (default: $XDG_CACHE_HOME/tav4j, else ~/.cache/tav4j).")
    Path cacheDir;

    @Option(names = "--recheck", description = "Run the check even when a cached result exists (and cache the new one).")
    boolean recheck;

    private CliEnvironment env;

    @Override public void environment(CliEnvironment env) { this.env = env; }

    @Override public Integer call() throws Exception {
        if (env == null) env = CliEnvironment.read();
        List<DType> ps = new ArrayList<>();
        for (String p : precisions) ps.add(BackendSettings.parsePrecision(p.strip()));
        Path dir = cacheDir != null ? cacheDir : env.cacheDir();
        Ops ops = open(device, env.backend().withPrecision(DType.F32));
        try {
            KernelCheck check = ops.kernelCheck().orElseThrow(() -> new IllegalStateException("the " + ops.name() + " backend has no self-check"));
            System.out.println("device: " + ops.deviceInfo().description());
            System.out.printf(Locale.ROOT, "%-20s %-4s %-4s %9s %9s  %s%n", "family", "prec", "", "max rel", "tolerance", "kernels");
            int failed = 0;
            double seconds = 0;
            for (DType p : ps) {
                KernelCheck.Report r = check.check(p, dir, recheck);
                seconds += r.seconds();
                for (String line : r.lines()) System.out.println(line);
                failed += r.failures();
                System.out.println("  " + (r.cached() ? "cached: " : "checked in " + String.format(Locale.ROOT, "%.1f s, cached: ", r.seconds()))
                        + check.cacheFile(p, dir));
            }
            if (failed == 0) {
                System.out.printf(Locale.ROOT, "doctor: every kernel family passed (%.1f s)%n", seconds);
                return 0;
            }
            System.out.println("doctor: " + failed + " failed: a failed *_TC family runs on its CUDA-core kernels instead (one warning"
                    + " per run); any other failed family stops cuda runs on this device");
            return 1;
        } finally {
            if (ops instanceof AutoCloseable c) c.close();
        }
    }

    /** The cuda backend, or the emulation; a GPU that is not usable, or an emulation that is not installed, is one line saying why. */
    static Ops open(String device, BackendSettings settings) {
        if (!device.equals("cuda") && !device.equals(DeviceOption.EMULATION))
            throw new IllegalArgumentException("--device must be cuda or " + DeviceOption.EMULATION + ", got '" + device + "'");
        try {
            return DeviceOption.select(device, settings);
        } catch (IllegalStateException e) {
            if (device.equals("cuda") && e.getMessage().startsWith("backend 'cuda' is not available: "))
                throw new IllegalStateException("cuda is unavailable: " + e.getMessage().substring("backend 'cuda' is not available: ".length()), e);
            throw e;
        }
    }
}
