package dev.tav4j.bench;

import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The structure of a pipeline bench result on a tiny model (timing values are not tested). */
class PipelineBenchTest {
    private final Ops ops = Backends.select("cpu");

    @Test
    void everyStageIsTimedWithItsFlopAndMemory() {
        UNetConfig cfg = TinyModels.tiny();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PipelineBench.Result r = PipelineBench.run(ops, cfg, new RandomWeights("unet", 1),
                new PipelineBench.Spec(2, 8, 1, 1, List.of("tune", "invert", "edit")), new PrintStream(log, true));
        assertEquals(List.of("tune", "invert", "edit"), r.stages().stream().map(PipelineBench.Stage::name).toList());
        assertEquals("cpu", r.backend());
        assertEquals("fp32", r.precision());
        for (PipelineBench.Stage s : r.stages()) {
            assertNull(s.error(), s.name() + ": " + s.error());
            assertTrue(s.msPerStep() > 0 && Double.isFinite(s.msPerStep()), s.toString());
            assertTrue(s.peakHostBytes() > 0, "host memory is tracked on the cpu backend: " + s);
            assertEquals(-1, s.peakDeviceBytes(), "no device memory on the cpu backend");
            assertTrue(log.toString().contains("tav4j " + s.name() + ":"), log.toString());
        }
        double inv = r.stage("invert").gflopPerStep(), edit = r.stage("edit").gflopPerStep(), tune = r.stage("tune").gflopPerStep();
        // a guided step is the batch-1 forward twice; a tuning step is a forward plus a backward of about the same size
        assertEquals(2 * inv, edit, 1e-9 * edit);
        assertTrue(tune > 1.9 * inv && tune < 3.5 * inv, "tune " + tune + " vs forward " + inv);
        String json = SideBySide.json("tiny", List.of(new SideBySide.Run(r, null)));
        assertTrue(json.contains("\"tune\":{\"ms_per_step\":") && json.contains("\"torch\":null"), json);
        String table = SideBySide.table("tiny", new SideBySide.Run(r, null));
        assertTrue(table.contains("tuning step") && table.contains("guided editing step") && table.contains("man-skiing"), table);
        assertTrue(table.contains("unknown"), "no peak measured: the fraction is unknown, not made up: " + table);
        // with a measured CPU peak of 1 TFLOP/s the fraction is the achieved TFLOP/s itself
        var peak = new dev.tav4j.kernels.cpu.CpuFmaPeak.Peak("Test CPU", "avx2 fma", 8, 2, 500, 1000);
        SideBySide.Run run = new SideBySide.Run(r, null, peak);
        String measured = SideBySide.table("tiny", run);
        assertTrue(measured.contains("CPU: Test CPU (avx2 fma; 8 fp32 lanes)"), measured);
        assertTrue(measured.contains(String.format(java.util.Locale.ROOT, "%.1f%%", 100 * r.stage("tune").tflops())), measured);
        String withCpu = SideBySide.json("tiny", List.of(run));
        assertTrue(withCpu.contains("\"cpu\":{\"model\":\"Test CPU\"") && withCpu.contains("\"fma_peak_gflops\":1000.0"), withCpu);
    }

    @Test
    void aHostBackendWrappedForTimingProfilesEachStageByOp() {
        Ops timed = HostOpTiming.wrap(ops);
        PipelineBench.Result r = PipelineBench.run(timed, TinyModels.tiny(), new RandomWeights("unet", 1),
                new PipelineBench.Spec(2, 8, 1, 0, List.of("tune", "edit"), true), new PrintStream(new ByteArrayOutputStream()));
        for (PipelineBench.Stage s : r.stages()) {
            assertNull(s.error(), s.name() + ": " + s.error());
            StepProfile p = s.profile();
            List<String> names = p.entries().stream().map(dev.tav4j.runtime.KernelTiming.Entry::name).toList();
            // attention is timed per kind, the others per op
            assertTrue(names.contains("matmul") && names.contains("attention SPARSE_CAUSAL") && names.contains("attention CROSS")
                    && names.contains("attention TEMPORAL") && names.contains("conv2d"), s.name() + ": " + names);
            double opsMs = p.entries().stream().mapToDouble(dev.tav4j.runtime.KernelTiming.Entry::totalMillis).sum();
            assertTrue(opsMs > 0 && opsMs <= p.stepSeconds() * 1e3 * 1.01, s.name() + ": " + opsMs + " ms of ops in a " + p.stepSeconds() + " s step");
        }
        assertTrue(r.stage("tune").profile().entries().stream().anyMatch(e -> e.name().startsWith("grad.")),
                "the backward's ops are timed too: " + r.stage("tune").profile().entries());
        assertTrue(SideBySide.json("tiny", List.of(new SideBySide.Run(r, null))).contains("\"profile\":[{\"kernel\":"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PipelineBench.run(ops, TinyModels.tiny(),
                new RandomWeights("unet", 1), new PipelineBench.Spec(1, 8, 1, 0, List.of("edit"), true), new PrintStream(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("kernel timing"), e.getMessage());
    }

    @Test
    void onlyTheAskedStagesRunAndBadSpecsAreRefused() {
        PipelineBench.Result r = PipelineBench.run(ops, TinyModels.tiny(), new RandomWeights("unet", 1),
                new PipelineBench.Spec(1, 8, 1, 0, List.of("edit")), new PrintStream(new ByteArrayOutputStream()));
        assertEquals(1, r.stages().size());
        assertNull(r.stage("tune"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PipelineBench.Spec(2, 8, 1, 1, List.of("decode")));
        assertTrue(e.getMessage().contains("decode"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new PipelineBench.Spec(2, 8, 60, 1, List.of("edit")));
        assertTrue(e.getMessage().contains("60"), e.getMessage());
    }

    @Test
    void flopCountKeepsTheForwardFigureOfTheUNetBenchAndPeaksKnowTheH100() {
        UNetConfig sd = BenchModels.sd15();
        // SD 1.5 at 64×64 latents: the 2D UNet is about 0.7–0.8 TFLOP per image (docs/performance.md: ≈ 0.8); the inflation adds
        // the temporal attention's four projections per transformer and sparse-causal attention's doubled keys
        double perImage = FlopCount.unetForward(sd, 1, 64) / 1e12;
        assertTrue(perImage > 0.75 && perImage < 1.05, "TFLOP per image " + perImage);
        assertEquals(989.4, DevicePeaks.of("NVIDIA H100 80GB HBM3").orElseThrow().tflops("bf16"));
        assertEquals(51.2, DevicePeaks.of("NVIDIA H100 PCIe").orElseThrow().tflops("fp32"));
        assertTrue(DevicePeaks.of("NVIDIA GeForce RTX 4090").isEmpty());
    }
}
