package dev.tav4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.eval.WorldEdits;
import dev.tav4j.model.eval.WorldEval;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.SmokeTestModel;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.pipeline.TuneJob;
import dev.tav4j.model.pipeline.VideoOutput;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.video.Frames;
import dev.tav4j.model.video.SyntheticClip;
import dev.tav4j.model.video.VideoGrid;
import dev.tav4j.model.world.Sample;
import dev.tav4j.model.world.WorldMetrics;
import dev.tav4j.model.world.WorldPrompt;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code tav demo}: the whole method with no download. On a world model (the shipped {@value WorldModel#FOLDER}, or
 * {@code --model}): a held-out clip of the procedural world, one-shot tuning on its caption, DDIM inversion, edits of
 * its shape, colour and background (motion kept), {@code source | edit} GIFs and the world metrics of each edit. With
 * {@code --smoke-test} (or when no world model is there and none is named): a random smoke-test model built in the
 * process on a generated ball clip, which shows the method running but makes noise.
 */
@Command(name = "demo", description = {
        "Run the whole method (tune, invert, edit) with no download: on the shipped world model (" + WorldModel.FOLDER + ", or --model),",
        "a held-out clip of the procedural world edited in shape, colour and background, written as source | edit GIFs with",
        "their world metrics; with --smoke-test (or when no world model is there) a random smoke-test model on a generated clip."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "tav-demo", description = "Output folder (default: ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--model", paramLabel = "DIR", description = "A world model folder written by 'tav pretrain' (default: the shipped "
            + WorldModel.FOLDER + ").") Path model;
    @Option(names = "--smoke-test", description = "Run the random smoke-test model on a generated ball clip instead (its output is noise).")
    boolean smokeTest;
    @Option(names = "--frames", defaultValue = "8", description = "Frames of the clip (default: ${DEFAULT-VALUE}).") int frames;
    @Option(names = "--size", description = "--smoke-test: frame width and height, a multiple of 8 (smoke test default: 128); "
            + "a world model's size is its own.") Integer size;
    @Option(names = "--tune-steps", description = "Tuning steps (world default: " + WORLD_TUNE_STEPS + "; smoke test default: 10).") Integer tuneSteps;
    @Option(names = "--steps", description = "DDIM inversion and editing steps (world default: " + WORLD_STEPS + "; smoke test default: 10).")
    Integer steps;
    @Option(names = "--seed", defaultValue = "0", description = "World: which held-out clip (the seed of the world's eval split; default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--prompt", description = "--smoke-test: tuning prompt (default: a red ball is bouncing over the grass).") String prompt;
    @Option(names = "--edit", description = "--smoke-test: edit prompt (default: a blue ball is bouncing on the beach).") String edit;
    @Mixin DeviceOption device;

    /** The world demo's method is WorldEval's default: it fits two minutes on two cores at 64×64, 8 frames (docs/eval.md). */
    static final int WORLD_TUNE_STEPS = 40, WORLD_STEPS = 20;

    @Override public Integer call() throws Exception {
        if (smokeTest && model != null) throw new IllegalArgumentException("--smoke-test and --model: the smoke test builds its own model; use one");
        Path world = model;
        if (!smokeTest && world == null) {
            try {
                world = WorldModel.resolve();
            } catch (IllegalArgumentException e) {
                // until the shipped model is committed, the plain command still shows the method running
                System.out.println("tav demo: no world model (" + e.getMessage() + "); running the smoke-test demo (--smoke-test).");
            }
        }
        if (world != null) return world(world);
        return smokeTest();
    }

    private int smokeTest() throws Exception {
        int size = this.size != null ? this.size : 128, tuneSteps = this.tuneSteps != null ? this.tuneSteps : 10, steps = this.steps != null ? this.steps : 10;
        String prompt = this.prompt != null ? this.prompt : "a red ball is bouncing over the grass";
        String edit = this.edit != null ? this.edit : "a blue ball is bouncing on the beach";
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
        StageClock clock = new StageClock(new ConsoleProgress(), 12.5f);
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

    /**
     * The world demo: every check first (the model folder opens, the output folder is writable, memory), then one
     * held-out clip tuned, inverted and edited three ways through {@link WorldEval#run}.
     */
    private int world(Path dir) throws Exception {
        if (size != null) throw new IllegalArgumentException("--size is for --smoke-test: a world model makes frames of its own size");
        if (prompt != null || edit != null) throw new IllegalArgumentException("--prompt and --edit are for --smoke-test: the world demo derives its prompts from the clip");
        Checks.atLeast("--frames", frames, 2);
        int tune = tuneSteps != null ? tuneSteps : WORLD_TUNE_STEPS, ddim = steps != null ? steps : WORLD_STEPS;
        Checks.steps("--tune-steps", tune);
        Checks.steps("--steps", ddim);
        int frameSize;
        try {
            frameSize = WorldEval.frameSize(dir);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--model " + dir + ": " + Errors.describe(e), e);
        }
        WorldEval.Method method = WorldEval.Method.defaults().withTuneSteps(tune).withSteps(ddim);  // defaults: WORLD_*
        Ops ops = device.open();
        WorldModel.checkFits(ops, dir, frames, frameSize, WorldEval.tuneSettings(WorldEval.Variant.FULL, method));
        Checks.outputFolder("--out", out);
        Sample src = WorldEval.source(frameSize, frames, seed, 0);
        List<WorldEdits.Edit> edits = WorldEdits.all(src.scene(), seed);
        System.out.println("tav demo: world model " + dir);
        System.out.println("source (a held-out combination, never seen in training): " + src.caption());
        for (WorldEdits.Edit e : edits) System.out.println("  " + e.kind().word() + " edit: " + e.prompt());
        System.out.printf(Locale.ROOT, "method: tune %d steps at lr %s on the caption, DDIM inversion %d steps, edits %d steps at guidance %s%n",
                method.tuneSteps(), method.learningRate(), method.steps(), method.steps(), method.guidance());
        StageClock clock = new StageClock(new ConsoleProgress(), method.guidance());
        long t = System.nanoTime();
        WorldEval.Outcome o = WorldEval.run(ops, dir, src, edits.stream().map(WorldEdits.Edit::prompt).toList(), WorldEval.Variant.FULL,
                method, out.resolve(".tune"), clock);
        clock.rest("loading, VAE encode and decode, saving", System.nanoTime() - t);
        t = System.nanoTime();
        List<BufferedImage> plain = enlarge(src.video().toImages()), source = labelled(plain, "source");
        VideoOutput.write(out.resolve("source.gif"), plain, 4);
        List<List<BufferedImage>> all = new ArrayList<>(List.of(source));
        System.out.printf(Locale.ROOT, "%-11s %-62s %9s %9s %10s  %s%n", "edit", "prompt", "edit acc", "motion", "bg consist", "recognised");
        ObjectNode json = Json.MAPPER.createObjectNode();
        json.put("model", dir.toAbsolutePath().normalize().toString());
        json.put("source", src.caption());
        json.put("tune_steps", method.tuneSteps());
        json.put("learning_rate", method.learningRate());
        json.put("ddim_steps", method.steps());
        json.put("guidance", method.guidance());
        json.put("reconstruction_psnr", o.scores().getFirst().psnr());
        ArrayNode rows = json.putArray("edits");
        for (int i = 0; i < edits.size(); i++) {
            WorldEdits.Edit e = edits.get(i);
            WorldMetrics.Scores sc = o.scores().get(i);
            List<BufferedImage> edited = labelled(enlarge(o.edits().get(i).toImages()), e.kind().word() + " → " + changedTo(e));
            all.add(edited);
            Path gif = out.resolve("edit-" + e.kind().word() + ".gif");
            VideoOutput.write(gif, VideoGrid.sideBySide(List.of(source, edited)), 4);
            String seen = word(sc.colour()) + " " + word(sc.shape()) + " on " + word(sc.backgroundColour()) + " " + word(sc.backgroundPattern());
            System.out.printf(Locale.ROOT, "%-11s %-62s %9.2f %9.3f %10.4f  %s%n", e.kind().word(), e.prompt(), sc.editAccuracy(),
                    sc.motionFidelity(), sc.backgroundConsistency(), seen);
            ObjectNode r = rows.addObject();
            r.put("kind", e.kind().word());
            r.put("prompt", e.prompt());
            r.put("gif", gif.getFileName().toString());
            r.put("edit_accuracy", sc.editAccuracy());
            r.put("motion_fidelity", sc.motionFidelity());
            r.put("background_consistency", sc.backgroundConsistency());
            r.put("recognised", seen);
        }
        all.add(labelled(enlarge(o.reconstruction().toImages()), "reconstruction"));
        VideoOutput.write(out.resolve("demo.gif"), VideoGrid.sideBySide(all), 4);
        Files.writeString(out.resolve("metrics.json"), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n");
        clock.add("writing GIFs", System.nanoTime() - t);
        System.out.printf(Locale.ROOT, "reconstruction (the source caption from the inverted latents): PSNR %.2f dB%n", o.scores().getFirst().psnr());
        clock.print();
        System.out.println("wrote " + out.resolve("demo.gif") + " (source | shape | colour | background | reconstruction), "
                + "edit-*.gif (source | edit), source.gif, metrics.json");
        return 0;
    }

    /** The new value an edit asks for: "circle", "red" (the shape's or the background's colour). */
    private static String changedTo(WorldEdits.Edit e) {
        WorldPrompt p = WorldPrompt.parse(e.prompt());
        return switch (e.kind()) {
            case SHAPE -> word(p.shape());
            case COLOUR -> word(p.colour());
            case BACKGROUND -> word(p.backgroundColour());
        };
    }

    /**
     * Each frame over a strip naming it, so the GIF says which clip is which edit. Where the platform draws no text
     * (no fonts on a bare server), the frames come back unlabelled: the file names and the printed table still say it.
     */
    static List<BufferedImage> labelled(List<BufferedImage> frames, String label) {
        try {
            List<BufferedImage> out = new ArrayList<>();
            for (BufferedImage f : frames) {
                BufferedImage im = new BufferedImage(f.getWidth(), f.getHeight() + 20, BufferedImage.TYPE_INT_RGB);
                java.awt.Graphics2D g = im.createGraphics();
                try {
                    g.drawImage(f, 0, 0, null);
                    g.setColor(java.awt.Color.WHITE);
                    g.fillRect(0, f.getHeight(), f.getWidth(), 20);
                    g.setColor(java.awt.Color.BLACK);
                    g.setFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 13));
                    g.setRenderingHint(java.awt.RenderingHints.KEY_TEXT_ANTIALIASING, java.awt.RenderingHints.VALUE_TEXT_ANTIALIAS_OFF);
                    g.drawString(label, 4, f.getHeight() + 15);
                } finally {
                    g.dispose();
                }
                out.add(im);
            }
            return out;
        } catch (RuntimeException | java.awt.AWTError | LinkageError e) {
            return frames;
        }
    }

    private static String word(Object o) {
        return o == null ? "?" : o.toString().toLowerCase(Locale.ROOT);
    }

    /** Frames 4× larger (nearest), so a 64×64 clip is seen at a glance. */
    static List<BufferedImage> enlarge(List<BufferedImage> frames) {
        List<BufferedImage> out = new ArrayList<>();
        for (BufferedImage f : frames) {
            BufferedImage big = new BufferedImage(f.getWidth() * 4, f.getHeight() * 4, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < big.getHeight(); y++)
                for (int x = 0; x < big.getWidth(); x++) big.setRGB(x, y, f.getRGB(x / 4, y / 4));
            out.add(big);
        }
        return out;
    }

    /** Times the stages reported through {@link Progress} (tune, invert, edit) and the ones the demo adds. */
    static final class StageClock implements Progress {
        private final Progress inner;
        private final float guidance;
        private final Map<String, Long> nanos = new LinkedHashMap<>();
        private long last = System.nanoTime();
        private long timedInJob;

        StageClock(Progress inner, float guidance) {
            this.inner = inner;
            this.guidance = guidance;
        }

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
                case "edit" -> "guided sampling (" + total + " steps, guidance " + guidance + ")";
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
