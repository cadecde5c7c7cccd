package dev.tav4j.model.pipeline;

import dev.tav4j.kernels.cuda.EmulatedDeviceApi;
import dev.tav4j.model.config.UNetConfig;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
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

    /** Skips with the build's reason where g++ was missing; fails where the library should exist and does not. */
    static void requireEmulation() {
        if (EmulatedDeviceApi.locate() != null) return;
        String lib = System.getProperty(EmulatedDeviceApi.LIBRARY_PROPERTY, "kernels/target/emu/libtav_emu.so");
        Assumptions.assumeFalse(Files.isRegularFile(Path.of(lib).resolveSibling("libtav_emu.missing")), EmulatedDeviceApi.unavailableReason());
        Assertions.fail(EmulatedDeviceApi.unavailableReason());
    }
}
