package dev.tav4j.bench;

import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.emulation.EmulatedDeviceApi;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.KernelTiming;
import dev.tav4j.model.pipeline.RandomWeights;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The benches on the emulated CUDA backend (tiny UNet): {@code tav bench tune --profile}, whose profiled step shows
 * the forward kernels, the backward kernels and GEMMs (timed through the backend's grad ops) and the optimizer's, in
 * the table and the JSON; and {@code bench pipeline}'s steady-state timing on a capturing backend. Timing values are
 * not tested; which kernels appear, that the steps were captured and that every stage has a figure are.
 */
class CudaEmuBenchTest {
    /** The cuda backend over the emulation, as {@code --device cuda-emu} gives it (the library from the build's -Dtav.emu.lib). */
    private static CudaOps emulated() {
        String p = System.getProperty(BackendSettings.EMULATION_LIBRARY_PROPERTY);
        Path lib = p == null ? null : Path.of(p);
        if (EmulatedDeviceApi.locate(lib) == null) {
            Assumptions.assumeFalse(EmulatedDeviceApi.compilerMissing(lib), EmulatedDeviceApi.unavailableReason(lib));
            fail(EmulatedDeviceApi.unavailableReason(lib));
        }
        return (CudaOps) Backends.select("cuda-emu", BackendSettings.DEFAULTS.withEmulationLibrary(lib));
    }

    @Test
    void pipelineStagesAreTimedOnACapturingBackend() {
        try (CudaOps ops = emulated()) {
            PipelineBench.Result r = PipelineBench.run(ops, TinyModels.tiny(), new RandomWeights("unet", 1),
                    new PipelineBench.Spec(2, 8, 1, 2, List.of("tune", "invert", "edit")), new PrintStream(new ByteArrayOutputStream()));
            for (PipelineBench.Stage s : r.stages()) {
                assertNull(s.error(), s.name() + ": " + s.error());
                assertTrue(s.msPerStep() > 0 && Double.isFinite(s.msPerStep()), s.toString());
                assertTrue(s.peakDeviceBytes() > 0, "device memory is tracked: " + s);
            }
        }
    }

    @Test
    void theProfiledTuningStepShowsForwardBackwardAndOptimizerWork() {
        try (CudaOps ops = emulated()) {
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            TuneBench.Result r = TuneBench.run(ops, TinyModels.tiny(), 2, 8, 1, false, true, true, new PrintStream(log, true));
            assertTrue(r.cudaGraphs(), "the timed step was replayed from a graph: " + log);
            List<String> names = r.profile().entries().stream().map(KernelTiming.Entry::name).toList();
            assertFalse(names.isEmpty());
            for (String want : List.of("conv2d_f32", "attention", "cublas_gemm_f32", "conv2d_bwd_input_f32", "attention_bwd_q",
                    "attention_bwd_kv", "groupnorm_bwd", "cublas_gemm_f32 dX", "cublas_gemm_f32 dW", "adamw_dev_f32", "mse_partial_f32"))
                assertTrue(names.stream().anyMatch(n -> n.startsWith(want)), want + " missing from the profile " + names);
            assertFalse(ops.kernelTiming().orElseThrow().running(), "profiling is off again after the profiled step");
            String table = r.profile().table();
            assertTrue(table.contains("profiled step:") && table.contains("conv2d_bwd_input_f32"), table);
            String json = TuneBench.json(r);
            assertTrue(json.contains("\"profile\":[{\"kernel\":") && json.endsWith("}"), json);
        }
    }
}
