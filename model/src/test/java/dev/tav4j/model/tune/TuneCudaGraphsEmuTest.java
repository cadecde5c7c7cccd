package dev.tav4j.model.tune;

import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.model.Emulation;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Tuning steps captured in a CUDA graph (step 1 eager, step 2 captured and replayed, step 3 replayed) against the
 * same steps uncaptured, on the emulated CUDA backend whose replay runs the recorded launch list: losses, norms,
 * masters, working copies and AdamW moments must agree bit for bit (the same kernels with the same device-side
 * scalars run in the same order; the emulation has no timing-dependent reduction). fp32 with gradient checkpointing
 * (the recompute is captured too), bf16 without; fp16 with an Inf poisoned into a gradient inside the replayed
 * step 2: the device skips AdamW, the host backs the scale off, and the replay of step 3 goes on.
 */
class TuneCudaGraphsEmuTest {
    private static final int FRAMES = 3, LATENT = 4, STEPS = 3;
    private static final int[] TIMESTEPS = {817, 94, 433};
    private static CudaOps emu;

    @BeforeAll
    static void backend() {
        Emulation.require();
        emu = Emulation.cuda();
    }

    @AfterAll
    static void close() {
        if (emu != null) emu.close();
    }

    private record Run(List<Tuner.StepResult> results, Map<String, float[]> state, boolean captured, List<Float> scales) {}

    private static Run run(Ops ops, boolean graphs, TuneSettings settings, LossScaler scaler, int poisonStep) {
        return run(ops, graphs, settings, scaler, poisonStep, false);
    }

    /** With {@code newTextEachStep}, each step gets a freshly uploaded text tensor whose values change from step to step. */
    private static Run run(Ops ops, boolean graphs, TuneSettings settings, LossScaler scaler, int poisonStep, boolean newTextEachStep) {
        Gaussian g = new Gaussian(5);
        try (PoisonedGradients poison = new PoisonedGradients(ops);
             UNet3D unet = new UNet3D(poison.ops, EmulatedCudaTuneStepTest.smallUnet(), new RandomWeights("unet", 3),
                TrainableModules.matcher(TrainableModules.DEFAULT));
             Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()), settings, scaler).cudaGraphs(graphs);
             Tensor lat = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor txt = g.tensor(1, 77, 16);
             Tensor x = ops.upload(lat); Tensor text = ops.upload(txt)) {
            List<Tuner.StepResult> results = new ArrayList<>();
            List<Float> scales = new ArrayList<>();
            boolean captured = true;
            for (int s = 0; s < STEPS; s++) {
                poison.next(s == poisonStep ? Float.POSITIVE_INFINITY : 0f);
                try (Tensor n = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor e = ops.upload(n);
                     Tensor th = newTextEachStep ? scaled(txt, 1f + 0.5f * s) : null; Tensor t = th != null ? ops.upload(th) : null) {
                    results.add(tuner.step(x, e, FRAMES, new int[] {TIMESTEPS[s]}, t != null ? t : text));
                }
                scales.add(scaler.scale());
                if (s >= 1) captured &= tuner.stepCaptured();
            }
            Assertions.assertNull(tuner.captureFallbackReason(), "capture refused");
            return new Run(results, TunerState.snapshot(ops, tuner), captured, scales);
        }
    }

    private static Tensor scaled(Tensor host, float f) {
        float[] v = host.toArray();
        for (int i = 0; i < v.length; i++) v[i] *= f;
        return Tensor.of(v, host.shape());
    }

    private static void assertSame(Run eager, Run graphs) {
        Assertions.assertFalse(eager.captured(), "graphs off: nothing captured");
        Assertions.assertTrue(graphs.captured(), "steps 2 and 3 replayed from a graph");
        for (int s = 0; s < STEPS; s++) {
            Tuner.StepResult a = eager.results().get(s), b = graphs.results().get(s);
            Assertions.assertEquals(Float.floatToRawIntBits(a.loss()), Float.floatToRawIntBits(b.loss()), "loss of step " + (s + 1) + ": " + a + " vs " + b);
            Assertions.assertEquals(Double.doubleToLongBits(a.gradNorm()), Double.doubleToLongBits(b.gradNorm()), "norm of step " + (s + 1));
            Assertions.assertEquals(a.skipped(), b.skipped(), "skipped, step " + (s + 1));
            Assertions.assertEquals(a.lossScale(), b.lossScale(), "scale, step " + (s + 1));
            Assertions.assertTrue(Float.isFinite(a.loss()) && a.loss() > 0, "a real loss: " + a);
        }
        Assertions.assertEquals(eager.scales(), graphs.scales());
        for (String k : eager.state().keySet())
            Assertions.assertArrayEquals(eager.state().get(k), graphs.state().get(k), k + ": captured differs from uncaptured");
    }

    @Test
    void fp32WithCheckpointingReplaysBitForBit() {
        TuneSettings s = TuneSettings.defaults().withGradientCheckpointing(true);
        assertSame(run(emu, false, s, LossScaler.fixed(), -1), run(emu, true, s, LossScaler.fixed(), -1));
    }

    @Test
    void bf16WithoutCheckpointingReplaysBitForBit() {
        Ops ops = emu.withPrecision(DType.BF16);
        TuneSettings s = TuneSettings.defaults().withGradientCheckpointing(false);
        assertSame(run(ops, false, s, LossScaler.fixed(), -1), run(ops, true, s, LossScaler.fixed(), -1));
    }

    @Test
    void fp16InfInsideTheReplaySkipsTheStepOnTheDevice() {
        Ops ops = emu.withPrecision(DType.F16);
        TuneSettings s = TuneSettings.defaults();
        Run eager = run(ops, false, s, LossScaler.dynamic(LossScaler.INIT_SCALE, 2f, 0.5f, 1), 1);
        Run graphs = run(ops, true, s, LossScaler.dynamic(LossScaler.INIT_SCALE, 2f, 0.5f, 1), 1);
        assertSame(eager, graphs);
        List<Tuner.StepResult> r = graphs.results();
        Assertions.assertFalse(r.get(0).skipped());
        Assertions.assertTrue(r.get(1).skipped(), "the poisoned replay is skipped");
        Assertions.assertFalse(Double.isFinite(r.get(1).gradNorm()));
        Assertions.assertFalse(r.get(2).skipped(), "the next replay goes on");
        Assertions.assertEquals(List.of(131072f, 65536f, 131072f), graphs.scales(), "grow, back off, grow");
    }

    /**
     * A new text tensor each step (as a caller that re-encodes the prompt would pass) is copied into the step's own
     * buffer: steps 2 and 3 are still replayed, and they read the new values (the text changes every step here, so a
     * replay reading a stale or freed text tensor would differ from the eager run).
     */
    @Test
    void newTextTensorEachStepIsReadWithoutRecapture() {
        TuneSettings s = TuneSettings.defaults().withGradientCheckpointing(false);
        Run eager = run(emu, false, s, LossScaler.fixed(), -1, true);
        assertSame(eager, run(emu, true, s, LossScaler.fixed(), -1, true));
        Run sameText = run(emu, false, s, LossScaler.fixed(), -1, false);
        Assertions.assertNotEquals(sameText.results().get(2).loss(), eager.results().get(2).loss(), "the text values reach the step");
    }
}
