package dev.tav4j.bench;

import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.emulation.EmulatedDeviceApi;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.DType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The memory plan against the peaks the benches measure, stage by stage: {@code tav bench pipeline}'s inversion,
 * guided editing and tuning steps on the CPU anchor (host tensor peak) and on the CUDA emulation (the device pool's
 * peak in use, CUDA graphs on, fp32 and bf16), and {@code tav bench tune} without gradient checkpointing. Each stage's
 * peak and its activations (the peak above what the stage started with) must be within 15 % of the measured ones.
 */
class MemoryPlanBenchTest {
    static final double TOLERANCE = 0.15;
    private static final List<MemoryPlan.Stage> STAGES = List.of(MemoryPlan.Stage.INVERT, MemoryPlan.Stage.EDIT, MemoryPlan.Stage.TUNE);

    @Test
    void cpuAnchorStagesAreWhatTheBenchMeasures() {
        UNetConfig anchor = BenchModels.cpuAnchor();
        MemoryPlan plan = plan(anchor, MemoryPlan.Backend.cpu(), 2, 16, TuneSettings.defaults());
        PipelineBench.Result r = PipelineBench.run(Backends.select("cpu"), anchor, new RandomWeights("unet", 1),
                new PipelineBench.Spec(2, 16, 1, 0, List.of("tune", "invert", "edit")), quiet());
        assertEquals((long) r.params() * 4, plan.weightBytes(), "the anchor's weights as F32");
        compare(plan, r);
    }

    @Test
    void cpuAnchorTuningWithoutCheckpointingIsWhatTheBenchMeasures() {
        UNetConfig anchor = BenchModels.cpuAnchor();
        TuneSettings off = TuneSettings.defaults().withGradientCheckpointing(false);
        MemoryPlan plan = MemoryPlan.estimate(MemoryPlan.Models.unetOnly(anchor),
                MemoryPlan.Workload.bench(2, 16, List.of(MemoryPlan.Stage.TUNE), off), MemoryPlan.Backend.cpu());
        MemoryPlan on = MemoryPlan.estimate(MemoryPlan.Models.unetOnly(anchor),
                MemoryPlan.Workload.bench(2, 16, List.of(MemoryPlan.Stage.TUNE), TuneSettings.defaults()), MemoryPlan.Backend.cpu());
        TuneBench.Result r = TuneBench.run(Backends.select("cpu"), anchor, 2, 16, 1, false, false, false, quiet());
        MemoryPlan.StagePeak s = plan.stage(MemoryPlan.Stage.TUNE);
        check("tune, no checkpointing (cpu)", s.peakBytes(), s.heldBytes(), r.peakHostBytes());
        assertTrue(s.activationBytes() > 1.5 * on.stage(MemoryPlan.Stage.TUNE).activationBytes(),
                "checkpointing keeps less: " + s.activationBytes() + " vs " + on.stage(MemoryPlan.Stage.TUNE).activationBytes());
    }

    /** Mixed precision: bf16 weights and activations, fp32 masters, gradients and moments; CUDA graphs on. */
    @Test
    void emulatedDeviceStagesInBf16AreWhatTheBenchMeasures() {
        emulatedBench(DType.BF16, STAGES);
    }

    @Test
    void emulatedDeviceDenoisingInFp32IsWhatTheBenchMeasures() {
        emulatedBench(DType.F32, List.of(MemoryPlan.Stage.INVERT, MemoryPlan.Stage.EDIT));
    }

    private static void emulatedBench(DType precision, List<MemoryPlan.Stage> stages) {
        try (CudaOps base = emulated()) {
            CudaOps ops = base.withPrecision(precision);
            MemoryPlan plan = MemoryPlan.estimate(MemoryPlan.Models.unetOnly(TinyModels.tiny()),
                    MemoryPlan.Workload.bench(2, 8, stages, TuneSettings.defaults()), MemoryPlan.Backend.cuda(precision, true));
            // warm-up 1 and 2 timed steps: each timed DDIM run holds an eager step, a capture and a replay
            PipelineBench.Result r = PipelineBench.run(ops, TinyModels.tiny(), new RandomWeights("unet", 1),
                    new PipelineBench.Spec(2, 8, 2, 1, stages.stream().map(MemoryPlan.Stage::key).toList()), quiet());
            compare(plan, r);
        }
    }

    private static MemoryPlan plan(UNetConfig cfg, MemoryPlan.Backend backend, int frames, int latent, TuneSettings tuning) {
        return MemoryPlan.estimate(MemoryPlan.Models.unetOnly(cfg), MemoryPlan.Workload.bench(frames, latent, STAGES, tuning), backend);
    }

    private static void compare(MemoryPlan plan, PipelineBench.Result r) {
        for (MemoryPlan.StagePeak s : plan.stages()) {
            PipelineBench.Stage b = r.stage(s.stage().key());
            assertTrue(b.ok(), b.name() + ": " + b.error());
            long measured = b.peakDeviceBytes() >= 0 ? b.peakDeviceBytes() : b.peakHostBytes();
            check(s.stage().key() + " (" + r.backend() + ", " + r.precision() + ")", s.peakBytes(), s.heldBytes(), measured);
        }
    }

    /** The peak, and the activations above what the plan says the stage starts with, within 15 %. */
    private static void check(String what, long planned, long held, long measured) {
        long act = planned - held, measuredAct = measured - held;
        System.out.printf("memory plan %-22s peak %,d planned / %,d measured (%.3f); activations %,d / %,d (%.3f)%n", what, planned, measured,
                planned / (double) measured, act, measuredAct, act / (double) measuredAct);
        assertTrue(measuredAct > 0, what + ": the stage added nothing? measured " + measured + ", held " + held);
        assertTrue(Math.abs(planned - measured) <= TOLERANCE * measured, what + ": planned peak " + planned + " vs measured " + measured);
        assertTrue(Math.abs(act - measuredAct) <= TOLERANCE * measuredAct, what + ": planned activations " + act + " vs measured " + measuredAct);
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }

    private static CudaOps emulated() {
        String p = System.getProperty(BackendSettings.EMULATION_LIBRARY_PROPERTY);
        java.nio.file.Path lib = p == null ? null : java.nio.file.Path.of(p);
        if (EmulatedDeviceApi.locate(lib) == null) {
            Assumptions.assumeFalse(EmulatedDeviceApi.compilerMissing(lib), EmulatedDeviceApi.unavailableReason(lib));
            fail(EmulatedDeviceApi.unavailableReason(lib));
        }
        return (CudaOps) Backends.select("cuda-emu", BackendSettings.DEFAULTS.withEmulationLibrary(lib));
    }
}
