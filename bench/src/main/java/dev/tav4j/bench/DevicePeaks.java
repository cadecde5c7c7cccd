package dev.tav4j.bench;

import java.util.Locale;
import java.util.Optional;

/**
 * Dense peak throughput of the GPUs the benches are run on (NVIDIA data sheets, boost clock, no sparsity):
 * bf16/fp16 on tensor cores with fp32 accumulation, and fp32 on CUDA cores (tav4j's fp32 GEMMs use no TF32).
 */
public final class DevicePeaks {
    /** @param bf16 dense bf16/fp16 tensor-core TFLOP/s; @param fp32 fp32 (non-tensor) TFLOP/s */
    public record Peak(String model, double bf16, double fp32) {
        /** The peak that applies to work stored in {@code precision} ("fp32", "bf16" or "fp16"). */
        public double tflops(String precision) {
            return precision.equals("fp32") ? fp32 : bf16;
        }
    }

    private DevicePeaks() {}

    /** The peak of the device named {@code name} (as the driver reports it), or empty when the table lacks it. */
    public static Optional<Peak> of(String name) {
        String n = name == null ? "" : name.toUpperCase(Locale.ROOT);
        if (n.contains("H200")) return Optional.of(new Peak("H200 SXM", 989.4, 66.9));
        if (n.contains("H100") && n.contains("NVL")) return Optional.of(new Peak("H100 NVL", 835.0, 60.0));
        if (n.contains("H100") && n.contains("PCIE")) return Optional.of(new Peak("H100 PCIe", 756.0, 51.2));
        if (n.contains("H100")) return Optional.of(new Peak("H100 SXM", 989.4, 66.9));
        if (n.contains("A100")) return Optional.of(new Peak("A100", 312.0, 19.5));
        return Optional.empty();
    }
}
