package dev.tav4j.model.plan;

import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.model.Emulation;
import dev.tav4j.model.golden.GoldenData;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.pipeline.TuneJob;
import dev.tav4j.model.tune.TrainableModules;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.HostMemoryPool;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The memory plan of whole commands (text encoder, VAE and UNet of the tiny checkpoint) against what the pipeline
 * really holds, stage by stage: tav edit from a video on the cpu (host tensor peaks) and on the CUDA emulation in
 * bf16 (device pool peaks, CUDA graphs on), and a whole tuning job with validation on the cpu; the weights against the
 * checkpoint's headers; the refusal line; shapes beyond any machine. Within 15 % (the bench-side figures, anchor and
 * device stages, are in the bench module's MemoryPlanBenchTest).
 */
class MemoryPlanTest {
    static final double TOLERANCE = 0.15;
    static final Path MODEL = GoldenData.models().resolve("tiny-sd-a"), TUNED = GoldenData.models().resolve("tiny-tuned-a");

    private static MemoryPlan.Models tinyModels() {
        CheckpointDir ckpt = CheckpointDir.open(MODEL);
        return new MemoryPlan.Models(CheckpointDir.unetFolderConfig(TUNED), ckpt.vaeConfig(), ckpt.textConfig());
    }

    @Test
    void editFromAVideoOnTheCpuHoldsWhatThePlanSays() {
        int frames = 2, height = 64, width = 48;
        MemoryPlan plan = MemoryPlan.estimate(tinyModels(), MemoryPlan.Workload.edit(frames, height, width, true), MemoryPlan.Backend.cpu());
        HostMemoryPool pool = HostMemoryPool.GLOBAL;
        Map<MemoryPlan.Stage, long[]> measured = editFromVideo(Backends.select("cpu"), frames, height, width, pool::liveBytes, pool::peakLiveBytes, pool::resetPeak);
        // on the cpu some weights stay mapped views of the files (not pool memory): compare what each stage adds
        for (MemoryPlan.StagePeak s : plan.stages()) {
            long[] m = measured.get(s.stage());
            within(s.stage().label() + " (cpu) activations", s.activationBytes(), m[1] - m[0]);
        }
    }

    @Test
    void editFromAVideoOnTheEmulatedDeviceInBf16HoldsWhatThePlanSays() {
        Emulation.require();
        int frames = 2, height = 32, width = 32;
        MemoryPlan plan = MemoryPlan.estimate(tinyModels(), MemoryPlan.Workload.edit(frames, height, width, true),
                MemoryPlan.Backend.cuda(DType.BF16, true));
        try (CudaOps base = Emulation.cuda()) {
            CudaOps ops = base.withPrecision(DType.BF16);
            var pool = ((dev.tav4j.emulation.EmulatedDeviceApi) ops.device()).pool();
            Map<MemoryPlan.Stage, long[]> measured = editFromVideo(ops, frames, height, width, pool::inUseBytes, pool::peakInUseBytes, pool::resetPeak);
            for (MemoryPlan.StagePeak s : plan.stages()) {
                long[] m = measured.get(s.stage());
                within(s.stage().label() + " (cuda-emu, bf16) held", s.heldBytes(), m[0]);
                within(s.stage().label() + " (cuda-emu, bf16) peak", s.peakBytes(), m[1]);
                within(s.stage().label() + " (cuda-emu, bf16) activations", s.activationBytes(), m[1] - m[0]);
            }
        }
    }

    /** EditCommand's sequence with the video: per stage, what was held when it started and its peak. */
    private static Map<MemoryPlan.Stage, long[]> editFromVideo(Ops ops, int frames, int height, int width, LongSupplier live,
                                                               LongSupplier peak, Runnable reset) {
        Map<MemoryPlan.Stage, long[]> out = new EnumMap<>(MemoryPlan.Stage.class);
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, MODEL, TUNED)) {
            long held = live.getAsLong();
            reset.run();
            Tensor init;
            Tensor pixels = new Gaussian(1).tensor(frames, height, width, 3);
            try (pixels; Tensor mean = p.encodeVideoMean(pixels)) {
                out.put(MemoryPlan.Stage.ENCODE, new long[]{held, peak.getAsLong()});
                held = live.getAsLong();
                reset.run();
                init = p.invert(mean, frames, 2, Progress.NONE);
                out.put(MemoryPlan.Stage.INVERT, new long[]{held, peak.getAsLong()});
            }
            try (init) {
                held = live.getAsLong();
                reset.run();
                try (Tensor edited = p.edit(init, frames, "a man is skiing", 2, 7.5f, Progress.NONE)) {
                    out.put(MemoryPlan.Stage.EDIT, new long[]{held, peak.getAsLong()});
                    init.close();
                    held = live.getAsLong();
                    reset.run();
                    try (Tensor video = p.decode(edited)) {
                        assertEquals(height, video.dim(1));
                    }
                    out.put(MemoryPlan.Stage.DECODE, new long[]{held, peak.getAsLong()});
                }
            }
        }
        return out;
    }

    /** A whole TuneJob (encode, steps, validation: inversion, edit, decode; saving) peaks where the plan's worst stage does. */
    @Test
    void aTuningJobWithValidationPeaksAsPlanned(@TempDir Path dir) {
        int frames = 2, height = 48, width = 48;
        CheckpointDir ckpt = CheckpointDir.open(MODEL);
        TuneSettings settings = TuneSettings.defaults();
        MemoryPlan plan = MemoryPlan.estimate(new MemoryPlan.Models(ckpt.unetConfig(), ckpt.vaeConfig(), ckpt.textConfig()),
                MemoryPlan.Workload.tune(frames, height, width, settings, true, true), MemoryPlan.Backend.cpu());
        HostMemoryPool pool = HostMemoryPool.GLOBAL;
        Ops ops = Backends.select("cpu");
        long measured;
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, MODEL, null, TrainableModules.matcher(settings.trainableModules()))) {
            long held = pool.liveBytes();
            pool.resetPeak();
            try (Tensor pixels = new Gaussian(2).tensor(frames, height, width, 3)) {
                TuneJob.run(p, pixels, new TuneJob.Spec(dir, "a man is skiing", 2, settings, 33, 0,
                        new TuneJob.Validation(List.of("a panda is skiing"), 2, 7.5f, true, 2, 2), false, 8), Progress.NONE);
            }
            measured = pool.peakLiveBytes() - held;
        }
        within("tuning job above the weights (cpu)", plan.peakBytes() - plan.weightBytes(), measured);
    }

    @Test
    void weightsAreTheCheckpointsWeightsAsF32() {
        CheckpointDir ckpt = CheckpointDir.open(MODEL);
        long headers = ckpt.weightBytesF32("text_encoder") + ckpt.weightBytesF32("vae") + CheckpointDir.unetFolderWeightBytesF32(TUNED);
        MemoryPlan plan = MemoryPlan.estimate(tinyModels(), MemoryPlan.Workload.generate(2, 64, 64), MemoryPlan.Backend.cpu());
        within("weights vs the files' headers", plan.weightBytes(), headers);
        MemoryPlan half = MemoryPlan.estimate(tinyModels(), MemoryPlan.Workload.generate(2, 64, 64), MemoryPlan.Backend.cuda(DType.BF16, true));
        // half the bytes, each tensor rounded up to the pool's blocks (512 B at least: these are small tensors)
        assertTrue(half.weightBytes() < 0.8 * plan.weightBytes(), "bf16 weights: " + half.weightBytes() + " vs " + plan.weightBytes());
    }

    @Test
    void aPlanThatCannotFitIsRefusedInOneLineSayingWhatToChange() {
        MemoryPlan.Workload work = MemoryPlan.Workload.generate(16, 256, 256);
        MemoryPlan cpu = MemoryPlan.estimate(tinyModels(), work, MemoryPlan.Backend.cpu());
        long free = cpu.needBytes() - (cpu.needBytes() - MemoryPlan.JVM_BYTES - cpu.weightBytes()) / 3;  // room for about 2/3 of the activations
        MemoryPlan tight = cpu.withFree(free);
        assertFalse(tight.fits());
        NotEnoughMemoryException e = assertThrows(NotEnoughMemoryException.class, tight::requireFits);
        String line = e.getMessage();
        System.out.println(line);
        assertFalse(line.contains("\n"), line);
        assertTrue(line.startsWith("not enough memory for this run on the cpu: about " + MemoryPlan.fmt(cpu.needBytes()) + " needed"), line);
        assertTrue(line.contains("16 frames of 256x256") && line.contains(MemoryPlan.fmt(free) + " available"), line);
        var frames = java.util.regex.Pattern.compile("fewer frames \\((\\d+) fit\\)").matcher(line);
        assertTrue(frames.find(), line);
        int n = Integer.parseInt(frames.group(1));
        assertTrue(n >= 1 && n < 16, line);
        assertTrue(MemoryPlan.estimate(tinyModels(), work.withFrames(n), MemoryPlan.Backend.cpu()).withFree(free).fits(), "the frames said to fit fit");
        assertFalse(MemoryPlan.estimate(tinyModels(), work.withFrames(n + 1), MemoryPlan.Backend.cpu()).withFree(free).fits(), "one more does not");
        assertTrue(line.contains("a smaller size") && line.endsWith("or a GPU (--device cuda)"), line);

        // a device in fp32, tuning without checkpointing: bf16 and checkpointing are offered with their estimates
        MemoryPlan.Workload tune = MemoryPlan.Workload.tune(8, 128, 128, TuneSettings.defaults().withGradientCheckpointing(false), false, false);
        MemoryPlan dev = MemoryPlan.estimate(tinyModels(), tune, MemoryPlan.Backend.cuda(DType.F32, true));
        String d = dev.withFree(dev.weightBytes()).refusal();
        System.out.println(d);
        assertTrue(d.startsWith("not enough device memory for this run on cuda (fp32)"), d);
        assertTrue(d.contains(" free; ") && d.contains("--precision bf16 (about ") && d.contains("gradient checkpointing (drop --no-gradient-checkpointing: about ")
                && d.endsWith("or --device cpu (host memory)"), d);
        assertTrue(dev.withFree(-1).fits(), "unknown free memory refuses nothing");
    }

    @Test
    void shapesBeyondAnyMachineAreALowerBoundRefusedAtOnce() {
        long t0 = System.nanoTime();
        MemoryPlan plan = MemoryPlan.estimate(tinyModels(), MemoryPlan.Workload.edit(100_000, 80_000, 80_000, true), MemoryPlan.Backend.cpu())
                .withFree(1L << 40);
        assertTrue(plan.isLowerBound());
        assertFalse(plan.fits());
        assertTrue(plan.refusal().contains("100000 frames of 80000x80000"), plan.refusal());
        // a large but real shape is simulated: the encoder at fewer frames, scaled
        MemoryPlan big = MemoryPlan.estimate(tinyModels(), MemoryPlan.Workload.edit(600, 512, 512, true), MemoryPlan.Backend.cpu());
        MemoryPlan small = MemoryPlan.estimate(tinyModels(), MemoryPlan.Workload.edit(60, 512, 512, true), MemoryPlan.Backend.cpu());
        assertFalse(big.isLowerBound());
        double ratio = big.stage(MemoryPlan.Stage.ENCODE).activationBytes() / (double) small.stage(MemoryPlan.Stage.ENCODE).activationBytes();
        assertEquals(10, ratio, 0.5, "the encoder grows with the frames");
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "planning takes milliseconds, not a run");
    }

    private static void within(String what, long planned, long measured) {
        System.out.printf("memory plan %-44s planned %,d, measured %,d (%.3f)%n", what, planned, measured, planned / (double) measured);
        assertTrue(measured > 0, what + ": nothing measured");
        assertTrue(Math.abs(planned - measured) <= TOLERANCE * measured, what + ": planned " + planned + " vs measured " + measured);
    }
}
