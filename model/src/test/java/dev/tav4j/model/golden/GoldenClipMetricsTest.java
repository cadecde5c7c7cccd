package dev.tav4j.model.golden;

import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.model.Emulation;
import dev.tav4j.runtime.Backends;
import org.junit.jupiter.api.Test;

/**
 * The {@code clip_metrics} cases alone (the parity suite runs them too on the CPU), quick to run on their own; and on
 * the CUDA backend over the host emulation of its kernels (the patch convolution with stride = kernel = 16, the
 * gathers of the class token and of the EOS rows), with the same forward tolerance: those kernels compute in fp32.
 */
class GoldenClipMetricsTest {
    @Test void clipMetricsCasesOnCpu() {
        for (GoldenCase c : GoldenData.cases("clip_metrics")) {
            try (c) {
                ClipMetricsParity.run(Backends.select("cpu"), c, GoldenParityTest.FORWARD_TOL);
            }
        }
    }

    @Test void clipMetricsCasesOnEmulatedCuda() {
        Emulation.require();
        for (GoldenCase c : GoldenData.cases("clip_metrics")) {
            try (c; CudaOps ops = dev.tav4j.model.Emulation.cuda()) {
                ClipMetricsParity.run(ops, c, GoldenParityTest.FORWARD_TOL);
            }
        }
    }
}
