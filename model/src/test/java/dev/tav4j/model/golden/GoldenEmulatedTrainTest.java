package dev.tav4j.model.golden;

import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.kernels.cuda.EmulatedBackend;
import dev.tav4j.kernels.cuda.EmulatedDeviceApi;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The golden "train" case on the CUDA backend over the host emulation of its kernels, so the backward path of
 * the GPU backend (CudaGradOps, the *_grad.cu kernels, the GEMM transposes) is held to the official numbers in
 * a run, with the tolerances of DESIGN.md. Opt-in ({@code -Dtav.emu.golden.train=true}): the emulation runs
 * every CUDA thread as a fiber and even the first step of this case took over 20 minutes on the shared 2-core
 * machine, far beyond CI; {@link dev.tav4j.model.tune.EmulatedCudaTuneStepTest} is the CI check of the same path
 * (a smaller UNet, against the CPU backend), and GoldenCudaTrainTest runs this case on a GPU. By default the
 * first step only (loss, grad_norm, every clipped gradient); {@code -Dtav.emu.train.steps=3} runs the whole case.
 */
@EnabledIfSystemProperty(named = "tav.emu.golden.train", matches = "true")
class GoldenEmulatedTrainTest {
    @Test
    void trainCaseOnEmulatedCuda() {
        if (EmulatedDeviceApi.locate() == null) {
            String lib = System.getProperty(EmulatedDeviceApi.LIBRARY_PROPERTY, "kernels/target/emu/libtav_emu.so");
            boolean noCompiler = Files.isRegularFile(Path.of(lib).resolveSibling("libtav_emu.missing"));
            Assumptions.assumeFalse(noCompiler, EmulatedDeviceApi.unavailableReason());
            Assertions.fail(EmulatedDeviceApi.unavailableReason());
        }
        List<GoldenCase> cases = GoldenData.cases("train");
        Assertions.assertFalse(cases.isEmpty(), "no golden train case under " + GoldenData.root());
        int steps = Integer.getInteger("tav.emu.train.steps", 1);
        try (CudaOps ops = EmulatedBackend.create()) {
            for (GoldenCase c : cases) {
                try (c) {
                    long t0 = System.nanoTime();
                    TrainParity.run(ops, c, steps);
                    System.out.printf("%s on %s: %d step(s) in %.1f s%n", c.name(), ops.name(), steps, (System.nanoTime() - t0) / 1e9);
                }
            }
        }
    }
}
