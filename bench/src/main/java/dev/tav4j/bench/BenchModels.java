package dev.tav4j.bench;

import dev.tav4j.model.config.UNetConfig;

import java.util.List;

/** The UNet3D topologies the benchmarks run (random weights). */
public final class BenchModels {
    private BenchModels() {}

    /**
     * The CPU anchor of docs/performance.md: the SD topology at 37M parameters — channels 64/128/256/256, 8 heads, 32 groups,
     * cross-attention dim 256.
     */
    public static UNetConfig cpuAnchor() {
        return sd(new int[]{64, 128, 256, 256}, 256, 8);
    }

    /** The model of a bench command's --model option: "anchor" or "sd15". */
    public static UNetConfig named(String name) {
        return switch (name) {
            case "anchor" -> cpuAnchor();
            case "sd15" -> sd15();
            default -> throw new IllegalArgumentException("--model must be anchor or sd15, got " + name);
        };
    }

    /** The real SD 1.5 UNet shapes: channels 320/640/1280/1280, 8 heads, cross-attention 768. */
    public static UNetConfig sd15() {
        return sd(new int[]{320, 640, 1280, 1280}, 768, 8);
    }

    private static UNetConfig sd(int[] channels, int crossDim, int heads) {
        return new UNetConfig("UNet3DConditionModel", 4, 4, channels, 2, 32, 1e-5f, crossDim,
                new int[]{heads, heads, heads, heads}, false,
                List.of("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"),
                List.of("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"),
                true, 0, 1, false, 64, null);
    }
}
