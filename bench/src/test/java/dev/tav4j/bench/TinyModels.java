package dev.tav4j.bench;

import dev.tav4j.model.config.UNetConfig;

import java.util.List;

/** A two-level UNet3D small enough for unit tests (every block kind, cross-attention, temporal layers). */
final class TinyModels {
    private TinyModels() {}

    static UNetConfig tiny() {
        return new UNetConfig("UNet3DConditionModel", 4, 4, new int[]{16, 32}, 1, 8, 1e-5f, 24, new int[]{2, 4}, false,
                List.of("CrossAttnDownBlock3D", "DownBlock3D"), List.of("UpBlock3D", "CrossAttnUpBlock3D"),
                true, 0, 1, false, 8, null);
    }
}
