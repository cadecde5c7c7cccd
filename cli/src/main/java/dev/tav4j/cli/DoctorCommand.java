package dev.tav4j.cli;

import dev.tav4j.kernels.cuda.CudaBackendProvider;
import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.kernels.cuda.EmulatedBackend;
import dev.tav4j.kernels.cuda.SelfCheck;
import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.DType;
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
final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--device", defaultValue = "cuda", description = "cuda, or cuda-emu (the host emulation of the kernels, for CI).")
    String device;

    @Option(names = "--precision", split = ",", defaultValue = "fp32,bf16,fp16", description = "Precisions to check, comma-separated.")
    List<String> precisions;

    @Option(names = "--cache-dir", description = "Where results are cached (default: $XDG_CACHE_HOME/tav4j, else ~/.cache/tav4j).")
    Path cacheDir;

    @Option(names = "--recheck", description = "Run the check even when a cached result exists (and cache the new one).")
    boolean recheck;

    @Override public Integer call() {
        List<DType> ps = new ArrayList<>();
        for (String p : precisions) ps.add(CudaOps.parsePrecision(p.strip()));
        Path dir = cacheDir != null ? cacheDir : defaultCacheDir();
        try (CudaOps ops = open(device)) {
            System.out.println("device: " + ops.device().describe());
            System.out.printf(Locale.ROOT, "%-20s %-4s %-4s %9s %9s  %s%n", "family", "prec", "", "max rel", "tolerance", "kernels");
            int failed = 0;
            double seconds = 0;
            for (DType p : ps) {
                if (recheck) java.nio.file.Files.deleteIfExists(SelfCheck.cacheFile(ops, p, dir));
                SelfCheck.Report r = SelfCheck.cached(ops, p, dir);
                seconds += r.seconds();
                for (SelfCheck.Result x : r.results()) System.out.println(x.line());
                failed += r.failed().size();
                System.out.println("  " + (r.cached() ? "cached: " : "checked in " + String.format(Locale.ROOT, "%.1f s, cached: ", r.seconds()))
                        + SelfCheck.cacheFile(ops, p, dir));
            }
            if (failed == 0) {
                System.out.printf(Locale.ROOT, "doctor: every kernel family passed (%.1f s)%n", seconds);
                return 0;
            }
            System.out.println("doctor: " + failed + " failed: a failed *_TC family runs on its CUDA-core kernels instead (one warning"
                    + " per run); any other failed family stops cuda runs on this device");
            return 1;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The cuda backend, or the emulation; a GPU that is not usable is one line saying why. */
    static CudaOps open(String device) {
        if (device.equals(EmulatedBackend.NAME)) return EmulatedBackend.create();
        if (!device.equals("cuda")) throw new IllegalArgumentException("--device must be cuda or " + EmulatedBackend.NAME + ", got '" + device + "'");
        BackendProvider.Availability a = new CudaBackendProvider().probe();
        if (!a.available()) throw new IllegalStateException("cuda is unavailable: " + a.reason());
        return CudaBackendProvider.open(DType.F32);
    }

    /** $XDG_CACHE_HOME/tav4j, else ~/.cache/tav4j (read here, at the entry point, and passed down). */
    static Path defaultCacheDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("tav4j");
    }
}
