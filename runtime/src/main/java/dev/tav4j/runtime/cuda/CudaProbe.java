package dev.tav4j.runtime.cuda;

import dev.tav4j.runtime.device.Bytes;
import dev.tav4j.bindings.cuda.CuDriver;
import dev.tav4j.bindings.cuda.CudaException;
import dev.tav4j.bindings.cuda.CudaLibraries;
import dev.tav4j.bindings.cuda.Cublas;
import dev.tav4j.bindings.cuda.LibraryLocator;
import dev.tav4j.runtime.BackendProvider.Availability;
import dev.tav4j.runtime.BackendSettings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Whether CUDA can run tav4j here, with a report a person can act on: the driver library and where it was found,
 * the driver version, device 0 (name, compute capability, SMs, memory, shared memory), cuBLAS and its version,
 * and the reason CUDA is unusable when it is (no driver, no device, driver too old for the PTX, compute
 * capability too low, no cuBLAS). Never throws. {@code java ... dev.tav4j.runtime.cuda.CudaProbe} prints it.
 *
 * <p>Where the libraries are searched for comes from {@link BackendSettings#libraryEnvironment()} ({@link #searchIn}):
 * the probe reads no system property or environment variable itself.
 */
public final class CudaProbe {
    private CudaProbe() {}

    /** The availability and the full report (one fact per line). */
    public record Report(Availability availability, String text) {}

    /**
     * Makes the CUDA libraries that are not loaded yet be searched for where {@code settings} say
     * ({@link BackendSettings#libraryEnvironment()}: -Dtav.cuda.driver, -Dtav.cublas, CUDA_HOME, Python environments).
     */
    public static void searchIn(BackendSettings settings) {
        var places = settings.libraryEnvironment();
        CudaLibraries.searchIn(LibraryLocator.Env.of(places::get, places::get));
    }

    /** {@link #searchIn} {@code settings}, then {@link #probe()}. */
    public static Report probe(BackendSettings settings) {
        searchIn(settings);
        return probe();
    }

    /** Probes against the kernels' PTX if it is on the class path, else against {@link PtxRequirements#DEFAULT}. */
    public static Report probe() {
        PtxRequirements req = PtxRequirements.DEFAULT;
        String source = "default requirements (no PTX resource " + CudaDeviceApi.DEFAULT_PTX_RESOURCE + " on the class path)";
        // the header only: the whole module is read when a device loads it
        try (InputStream ptx = CudaDeviceApi.openResource(CudaDeviceApi.DEFAULT_PTX_RESOURCE)) {
            req = PtxRequirements.parseHead(ptx);
            source = CudaDeviceApi.DEFAULT_PTX_RESOURCE;
        } catch (RuntimeException | IOException ignored) {
            // no kernels module on the class path: probe with the defaults
        }
        return probe(req, source);
    }

    public static Report probe(PtxRequirements req, String requirementSource) {
        StringBuilder r = new StringBuilder();
        try {
            return run(req, requirementSource, r);
        } catch (RuntimeException | LinkageError e) {
            line(r, "error", e.toString());
            return new Report(Availability.no("CUDA probe failed: " + e.getMessage()), r.toString());
        }
    }

    private static Report run(PtxRequirements req, String requirementSource, StringBuilder r) {
        line(r, "kernels", req.describe() + " [" + requirementSource + "]");
        CudaLibraries.Loaded driver = CudaLibraries.driver();
        line(r, "driver library", driver.describe());
        if (!driver.ok()) return no(r, "no CUDA driver: " + driver.failure());
        try {
            CuDriver.init();
        } catch (CudaException e) {
            String why = switch (e.code()) {
                case CudaException.CUDA_ERROR_NO_DEVICE -> "no CUDA device";
                case CudaException.CUDA_ERROR_INSUFFICIENT_DRIVER -> "the driver is too old for this CUDA";
                default -> "the CUDA driver does not initialise";
            };
            line(r, "cuInit", e.getMessage());
            return no(r, why + ": " + e.getMessage());
        }
        int version = CuDriver.driverVersion();
        line(r, "driver version", version(version) + " (CUDA " + version + ")");
        int count = CuDriver.deviceCount();
        line(r, "devices", Integer.toString(count));
        if (count == 0) return no(r, "no CUDA device (the driver " + version(version) + " sees none)");
        int dev = CuDriver.device(0);
        String name = CuDriver.deviceName(dev);
        int ccMajor = CuDriver.attribute(CuDriver.ATTR_COMPUTE_CAPABILITY_MAJOR, dev);
        int ccMinor = CuDriver.attribute(CuDriver.ATTR_COMPUTE_CAPABILITY_MINOR, dev);
        int sms = CuDriver.attribute(CuDriver.ATTR_MULTIPROCESSOR_COUNT, dev);
        int smem = CuDriver.attribute(CuDriver.ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev);
        long total = CuDriver.totalMemory(dev);
        line(r, "device 0", name + ", compute capability " + ccMajor + "." + ccMinor + ", " + sms + " SMs, "
                + Bytes.human(total) + ", " + smem / 1024 + " KiB shared memory per block (opt-in)");
        CudaLibraries.Loaded cublasLib = CudaLibraries.cublas();
        line(r, "cuBLAS library", cublasLib.describe());
        String cublasVersion = null;
        if (cublasLib.ok()) {
            try {
                cublasVersion = Cublas.version();
                line(r, "cuBLAS version", cublasVersion);
            } catch (CudaException e) {
                line(r, "cuBLAS version", e.getMessage());
            }
        }
        if (version < req.requiredDriverVersion())
            return no(r, "driver " + version(version) + " is too old: the kernels' " + req.describe());
        if (!req.runsOn(ccMajor, ccMinor))
            return no(r, name + " has compute capability " + ccMajor + "." + ccMinor + "; the kernels need sm_"
                    + req.smMajor() + req.smMinor() + (req.archSpecific() ? " exactly" : " or newer"));
        if (!cublasLib.ok()) return no(r, "cuBLAS not found (set -Dtav.cublas=PATH or CUDA_HOME): " + cublasLib.failure());
        if (cublasVersion == null) return no(r, "cuBLAS at " + cublasLib.library().path() + " does not answer");
        String ok = name + ", sm_" + ccMajor + ccMinor + ", driver " + version(version) + ", cuBLAS " + cublasVersion;
        line(r, "usable", "yes: " + ok);
        return new Report(Availability.yes(ok), r.toString());
    }

    private static Report no(StringBuilder r, String why) {
        line(r, "usable", "no: " + why);
        return new Report(Availability.no(why), r.toString());
    }

    private static void line(StringBuilder r, String key, String value) {
        r.append(String.format("%-16s %s%n", key + ":", value));
    }

    /** 13000 → "13.0", 12080 → "12.8". */
    static String version(int v) {
        return v / 1000 + "." + (v % 1000) / 10;
    }

    /** Prints the report; an entry point, so it reads the documented switches from this process. */
    public static void main(String[] args) {
        Report rep = probe(BackendSettings.fromSystem(System::getProperty, System::getenv));
        System.out.print(rep.text());
        System.exit(rep.availability().available() ? 0 : 3);
    }
}
