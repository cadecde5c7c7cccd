package dev.tav4j.model.pipeline;

import dev.tav4j.model.Emulation;
import dev.tav4j.model.config.UNetConfig;

import java.util.List;

/** Test support: a small UNet3D with every layer and attention kind, and the emulation's availability check. */
final class EmuModels {
    static final int FRAMES = 3, LATENT = 4, TEXT_DIM = 16;

    private EmuModels() {}

    /** 2 levels (16, 32 channels), cross-attention down and up, 2 heads; text width {@code textDim}. */
    static UNetConfig smallUnet(int textDim) {
        return new UNetConfig("UNet3DConditionModel", 4, 4, new int[] {16, 32}, 1, 4, 1e-5f, textDim, new int[] {2, 2}, false,
                List.of("CrossAttnDownBlock3D", "DownBlock3D"), List.of("UpBlock3D", "CrossAttnUpBlock3D"),
                true, 0, 1, false, LATENT, null);
    }

    /** {@link Emulation#require()}. */
    static void requireEmulation() {
        Emulation.require();
    }
}
