package dev.tav4j.cli;

import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.SmokeTestModel;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.pipeline.TuneJob;
import dev.tav4j.model.pipeline.VideoOutput;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.video.Frames;
import dev.tav4j.model.video.SyntheticClip;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code tav demo}: the whole method with no download — a clip made in the process, a smoke-test model built
 * deterministically in the process, one-shot tuning, DDIM inversion of the last tuning latents, a guided edit,
 * GIFs out, and the time of each stage.
 */
@Command(name = "demo", description = "Run the whole method (tune, invert, edit) on a built-in smoke-test model and a generated clip (no download).")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "tav-demo", description = "Output folder (default: ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--frames", defaultValue = "8", description = "Frames of the clip (default: ${DEFAULT-VALUE}).") int frames;
    @Option(names = "--size", defaultValue = "128", description = "Frame width and height, a multiple of 8 (default: ${DEFAULT-VALUE}).") int size;
    @Option(names = "--tune-steps", defaultValue = "10", description = "Tuning steps (default: ${DEFAULT-VALUE}).") int tuneSteps;
    @Option(names = "--steps", defaultValue = "10", description = "DDIM inversion and editing steps (default: ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--prompt", defaultValue = "a red ball is bouncing over the grass", description = "Tuning prompt (default: ${DEFAULT-VALUE}).") String prompt;
    @Option(names = "--edit", defaultValue = "a blue ball is bouncing on the beach", description = "Edit prompt (default: ${DEFAULT-VALUE}).") String edit;
    @Mixin DeviceOption device;

    @Override public Integer call() throws Exception {
        if (size % 8 != 0 || size <= 0) throw new IllegalArgumentException("--size must be a positive multiple of 8, got " + size);
        Checks.shape("--frames", frames, "--size", size, "--size", size);
        Checks.steps("--tune-steps", tuneSteps);
        Checks.steps("--steps", steps);
        Ops ops = device.open();
        // the smoke-test model is small; the frames and size decide
        MemoryCheck.before(ops, new MemoryPlan.Models(SmokeTestModel.unetConfig(), SmokeTestModel.vaeConfig(), SmokeTestModel.textConfig()),
                MemoryPlan.Workload.tune(frames, size, size, TuneSettings.defaults(), true, true));
        Checks.outputFolder("--out", out);
        System.out.println("tav demo: a SMOKE-TEST model with random weights, built in the process, on a generated clip.");
        System.out.println("It shows the whole method running end to end (tune → invert → edit); its edits are not meaningful images.");
        System.out.println("For real results, tune a real Stable Diffusion checkpoint on a real video:");
        System.out.println("  ./tav tune --model <diffusers SD folder> --video clip.mp4 --prompt \"…\" --out tuned");
        System.out.println("  ./tav edit --model <diffusers SD folder> --tuned tuned --video clip.mp4 --prompt \"…\" --out edit.gif");
        StageClock clock = new StageClock(new ConsoleProgress());
        long t = System.nanoTime();
        try (TuneAVideoPipeline p = SmokeTestModel.build(ops, out, 42)) {
            clock.add("build model", System.nanoTime() - t);
            t = System.nanoTime();
            List<BufferedImage> clip = SyntheticClip.movingBall(frames, size, size);
            VideoOutput.write(out.resolve("input.gif"), clip, 8);
            clock.add("make input clip", System.nanoTime() - t);
            TuneJob.Validation validation = new TuneJob.Validation(List.of(edit), steps, 12.5f, true, steps, tuneSteps);
            TuneJob.Spec spec = new TuneJob.Spec(out, prompt, tuneSteps, TuneSettings.defaults(), 33, 0, validation, false, 8);
            t = System.nanoTime();
            TuneJob.Result r;
            try (Tensor pixels = Frames.toPixels(clip)) {
                r = TuneJob.run(p, pixels, spec, clock);
            }
            clock.rest("VAE encode, saving, decoding", System.nanoTime() - t);
            Files.copy(r.samples().get(0), out.resolve("edited.gif"), StandardCopyOption.REPLACE_EXISTING);
            System.out.printf(Locale.ROOT, "tuned %d steps (last loss %.4f); tuned UNet in %s%n", r.steps(), r.lastLoss(), r.unetDir());
        }
        clock.print();
        System.out.println("wrote " + out.resolve("input.gif") + " and " + out.resolve("edited.gif"));
        return 0;
    }

    /** Times the stages reported through {@link Progress} (tune, invert, edit) and the ones the demo adds. */
    static final class StageClock implements Progress {
        private final Progress inner;
        private final Map<String, Long> nanos = new LinkedHashMap<>();
        private long last = System.nanoTime();
        private long timedInJob;

        StageClock(Progress inner) { this.inner = inner; }

        void add(String stage, long ns) {
            nanos.merge(stage, ns, Long::sum);
            last = System.nanoTime();
        }

        /** The time of a span not covered by reported steps. */
        void rest(String stage, long spanNs) {
            nanos.merge(stage, Math.max(0, spanNs - timedInJob), Long::sum);
        }

        @Override public void step(String stage, int step, int total) {
            long now = System.nanoTime();
            String name = switch (stage) {
                case "tune" -> "tuning (" + total + " steps)";
                case "invert" -> "DDIM inversion (" + total + " steps)";
                case "edit" -> "guided editing (" + total + " steps, guidance 12.5)";
                default -> stage;
            };
            nanos.merge(name, now - last, Long::sum);
            timedInJob += now - last;
            last = now;
            inner.step(stage, step, total);
        }

        @Override public void metric(String name, double value) { inner.metric(name, value); }

        @Override public boolean cancelled() { return inner.cancelled(); }

        void print() {
            nanos.forEach((k, v) -> System.out.printf(Locale.ROOT, "  %-45s %7.2f s%n", k, v / 1e9));
        }
    }
}
