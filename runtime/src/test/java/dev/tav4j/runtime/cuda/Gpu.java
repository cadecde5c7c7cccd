package dev.tav4j.runtime.cuda;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Shared by the GPU tests: opens the device with the test PTX, or skips with the probe's reason. With
 * {@code -Dtav.gpu.required=true} (scripts/gpu/run.sh sets it) a missing device fails instead of skipping.
 */
final class Gpu {
    static final String TEST_PTX = "/dev/tav4j/runtime/cuda/test_kernels.ptx";
    private static CudaProbe.Report report;

    private Gpu() {}

    static synchronized CudaProbe.Report probe() {
        if (report == null) {
            // the test is the entry point here: the library places (-Dtav.cublas, CUDA_HOME, …) from this JVM
            CudaProbe.searchIn(dev.tav4j.runtime.BackendSettings.fromSystem(System::getProperty, System::getenv));
            String ptx = new String(CudaDeviceApi.readResource(TEST_PTX), StandardCharsets.US_ASCII);
            report = CudaProbe.probe(PtxRequirements.parse(ptx), "test_kernels.ptx");
            System.out.print(report.text());
        }
        return report;
    }

    static CudaDeviceApi open() {
        CudaProbe.Report r = probe();
        if (!r.availability().available() && Boolean.getBoolean("tav.gpu.required"))
            fail("a GPU is required (-Dtav.gpu.required) but CUDA is unusable: " + r.availability().reason());
        assumeTrue(r.availability().available(), "skipped, no usable CUDA device: " + r.availability().reason());
        return new CudaDeviceApi(0, CudaDeviceApi.readResource(TEST_PTX), "test_kernels.ptx", false);
    }

    /** A line scripts/gpu/run.sh collects into its summary. */
    static void measure(String what, String value) {
        System.out.println("[gpu-measure] " + what + ": " + value);
    }

    /** The native array of pointers to argument values that cuLaunchKernel takes. Long = pointer or i64. */
    static MemorySegment params(Arena a, Object... args) {
        MemorySegment arr = a.allocate(ValueLayout.ADDRESS, args.length);
        for (int i = 0; i < args.length; i++) {
            MemorySegment v = switch (args[i]) {
                case Long l -> a.allocateFrom(ValueLayout.JAVA_LONG, l);
                case Integer n -> a.allocateFrom(ValueLayout.JAVA_INT, n);
                case Float f -> a.allocateFrom(ValueLayout.JAVA_FLOAT, f);
                default -> throw new IllegalArgumentException("kernel argument " + args[i]);
            };
            arr.setAtIndex(ValueLayout.ADDRESS, i, v);
        }
        return arr;
    }
}
