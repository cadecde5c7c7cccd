package dev.tav4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.clip.ClipImageProcessor;
import dev.tav4j.model.clip.ClipMetrics;
import dev.tav4j.model.clip.ClipModel;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.eval.WorldEval;
import dev.tav4j.model.eval.WorldEvalOutput;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.video.VideoReader;
import dev.tav4j.runtime.Ops;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code tav eval}: the CLIP metrics of Tune-A-Video's Table 1 as LOVEU-TGVE's scripts/run_eval.py computes them,
 * per video and averaged over the videos: frame consistency and text alignment.
 */
@Command(name = "eval", description = {
        "Score edited videos with CLIP as LOVEU-TGVE's run_eval.py does (the paper's Table 1 metrics):",
        "  frame consistency = mean cosine similarity of the CLIP image embeddings of all ordered pairs of distinct frames;",
        "  text alignment = mean over frames of exp(logit_scale) * cos(frame, prompt).",
        "Every frame of each video (or every image of a folder) is scored, preprocessed as CLIPImageProcessor does.",
        "With --world: the paper's ablations on held-out clips of the procedural world, scored without CLIP (edit accuracy,",
        "motion fidelity, background consistency, reconstruction PSNR; docs/eval.md): a table, --json and --chart."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--clip", paramLabel = "DIR",
            description = "A transformers CLIPModel folder: config.json, model.safetensors, vocab.json and merges.txt (beside them or in tokenizer/), "
                    + "optionally preprocessor_config.json; the paper's numbers use openai/clip-vit-large-patch14.")
    Path clip;
    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "The edit prompt the videos are scored against: once for all videos, or once per video in the order of the videos.")
    List<String> prompts = new ArrayList<>();
    @Parameters(arity = "0..*", paramLabel = "VIDEO", description = "Videos (MP4, GIF, …) or folders of .png/.jpg frames.")
    List<Path> videos = new ArrayList<>();
    @Option(names = "--json", paramLabel = "FILE", description = "Also write the scores as JSON to FILE.")
    Path json;
    @Option(names = "--pre-resize", paramLabel = "WxH",
            description = "First resize every frame straight to W×H with Pillow's bicubic, as run_eval.py does with 480x480 for LOVEU-TGVE "
                    + "(default: none; frames go to CLIP's preprocessing at their own size).")
    String preResize;
    @Mixin DeviceOption device;
    @Option(names = "--world", description = "Evaluate the ablations on the procedural world instead (no CLIP, no videos; see the options below).")
    boolean world;
    @Option(names = "--model", paramLabel = "DIR", description = "--world: a pipeline folder written by 'tav pretrain' (default: the shipped "
            + WorldModel.EVAL_FOLDER + ", whose UNet is text-to-image as Tune-A-Video's starting point).")
    Path model;
    @Option(names = "--clips", defaultValue = "6", description = "--world: held-out clips (default: ${DEFAULT-VALUE}).")
    int clips;
    @Option(names = "--frames", defaultValue = "8", description = "--world: frames per clip (default: ${DEFAULT-VALUE}).")
    int frames;
    @Option(names = "--variants", split = ",", paramLabel = "V", description = "--world: rows, comma-separated, from: full, no-tuning, "
            + "no-inversion, no-temporal, full-attention, causal-attention (default: all).")
    List<String> variants = new ArrayList<>();
    @Option(names = "--tune-steps", description = "--world: tuning steps (default: 40).") Integer tuneSteps;
    @Option(names = "--steps", description = "--world: DDIM inversion and editing steps (default: 20).") Integer steps;
    @Option(names = "--lr", description = "--world: tuning learning rate (default: 3e-4).") Float learningRate;
    @Option(names = "--guidance", description = "--world: classifier-free guidance (default: 12.5).") Float guidance;
    @Option(names = "--seed", defaultValue = "0", description = "--world: seed of the held-out clips (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--chart", paramLabel = "FILE.svg", description = "--world: also write a bar chart of the table as SVG.")
    Path chart;
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override public Integer call() throws IOException {
        if (world) return world();
        if (clip == null) throw new picocli.CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--clip=DIR' (or --world)");
        if (prompts.isEmpty()) throw new picocli.CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--prompt=TEXT'");
        if (videos.isEmpty()) throw new picocli.CommandLine.ParameterException(spec.commandLine(), "Missing required parameter: 'VIDEO'");
        if (chart != null) throw new IllegalArgumentException("--chart is for --world");
        if (prompts.size() != 1 && prompts.size() != videos.size())
            throw new IllegalArgumentException("--prompt given " + prompts.size() + " times for " + videos.size()
                    + " videos: give it once (for all videos) or once per video");
        int[] pre = preResize == null ? null : parseSize(preResize);
        if (json != null) Checks.outputFile("--json", json);
        ClipModel.check(clip);  // config, tokenizer and preprocessor: a wrong folder fails before any weight is read
        for (Path v : videos) VideoReader.probe(v);  // its first frame decodes: a wrong file fails before loading too
        Ops ops = device.open();
        long t0 = System.nanoTime();
        List<ClipMetrics.Scores> scores = new ArrayList<>();
        try (ClipModel model = ClipModel.load(ops, clip)) {
            System.err.printf(Locale.ROOT, "loaded %s in %.1f s%n", clip, (System.nanoTime() - t0) / 1e9);
            for (int i = 0; i < videos.size(); i++) {
                Path v = videos.get(i);
                List<BufferedImage> frames = VideoReader.readAll(v);
                if (frames.size() < 2)
                    throw new IllegalArgumentException(v + " has " + frames.size() + " frame; frame consistency needs at least 2");
                if (pre != null) frames = frames.stream().map(f -> ClipImageProcessor.resizeStraight(f, pre[0], pre[1])).toList();
                ClipMetrics.Scores s = ClipMetrics.evaluate(model, frames, prompt(i));
                scores.add(s);
                if (i == 0) System.out.printf(Locale.ROOT, "%-40s %6s %18s %15s%n", "video", "frames", "frame consistency", "text alignment");
                System.out.printf(Locale.ROOT, "%-40s %6d %18.4f %15.4f%n", v, s.frames(), s.frameConsistency(), s.textAlignment());
            }
        }
        double fc = 0, ta = 0;
        for (ClipMetrics.Scores s : scores) {
            fc += s.frameConsistency() / scores.size();
            ta += s.textAlignment() / scores.size();
        }
        if (scores.size() > 1)
            System.out.printf(Locale.ROOT, "%-40s %6s %18.4f %15.4f%n", "mean of " + scores.size() + " videos", "", fc, ta);
        System.out.printf(Locale.ROOT, "(the paper's Table 1 reports frame consistency x 100: %.2f; text alignment as is: %.2f)%n", 100 * fc, ta);
        if (json != null) writeJson(scores, fc, ta);
        return 0;
    }

    /** tav eval --world: every check first, then the clips, a line per clip and variant as it is done, the table, JSON, chart. */
    private int world() throws IOException {
        if (clip != null || !prompts.isEmpty() || !videos.isEmpty() || preResize != null)
            throw new IllegalArgumentException("--world takes no --clip, --prompt, --pre-resize or videos (it makes its own clips and prompts)");
        Checks.atLeast("--clips", clips, 1);
        Checks.atLeast("--frames", frames, 2);
        List<WorldEval.Variant> rows = new ArrayList<>();
        for (String v : variants) {
            try {
                WorldEval.Variant x = WorldEval.Variant.ofKey(v.strip());
                if (rows.contains(x)) throw new IllegalArgumentException("--variants names " + v + " twice");
                rows.add(x);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--variants: " + e.getMessage());
            }
        }
        if (rows.isEmpty()) rows.addAll(List.of(WorldEval.Variant.values()));
        WorldEval.Method d = WorldEval.Method.defaults();
        if (tuneSteps != null) Checks.steps("--tune-steps", tuneSteps);
        if (steps != null) Checks.steps("--steps", steps);
        if (learningRate != null) Checks.positive("--lr", learningRate);
        if (guidance != null && !(guidance >= 1)) throw new IllegalArgumentException("--guidance must be at least 1, got " + guidance);
        WorldEval.Method method = new WorldEval.Method(tuneSteps != null ? tuneSteps : d.tuneSteps(), learningRate != null ? learningRate : d.learningRate(),
                steps != null ? steps : d.steps(), guidance != null ? guidance : d.guidance(), d.seed());
        WorldEval.Settings settings = new WorldEval.Settings(clips, frames, seed, method, rows);
        if (json != null) Checks.outputFile("--json", json);
        if (chart != null) {
            if (!chart.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".svg"))
                throw new IllegalArgumentException("--chart " + chart + ": the chart is written as SVG; name it FILE.svg");
            Checks.outputFile("--chart", chart);
        }
        Path dir = model != null ? model : WorldModel.resolveEval();
        int size;
        try {
            size = WorldEval.frameSize(dir);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--model " + dir + ": " + Errors.describe(e), e);
        }
        Ops ops = device.open();
        WorldModel.checkFits(ops, dir, frames, size, WorldEval.tuneSettings(WorldEval.Variant.FULL, method));
        System.err.printf(Locale.ROOT, "tav eval --world: %d held-out clip%s of %d frames of %dx%d, %d variants, model %s%n",
                clips, clips == 1 ? "" : "s", frames, size, size, rows.size(), dir);
        System.err.printf(Locale.ROOT, "method: tuning %d steps at lr %s, DDIM %d steps, guidance %s%n",
                method.tuneSteps(), method.learningRate(), method.steps(), method.guidance());
        Path work = Files.createTempDirectory("tav-eval-world");
        WorldEval.Report report;
        try {
            report = WorldEval.run(ops, dir, settings, work, Progress.NONE, r -> System.err.printf(Locale.ROOT,
                    "clip %d [%s] %-22s edit acc %.2f  motion %.3f  bg %.4f  PSNR %5.2f dB  %5.1f s  (%s -> %s)%n",
                    r.clip(), r.edit().kind().word(), r.variant().key(), r.scores().editAccuracy(), r.scores().motionFidelity(),
                    r.scores().backgroundConsistency(), r.scores().psnr(), r.seconds(), r.source(), r.edit().prompt()));
        } finally {
            dev.tav4j.model.tune.TuneCheckpoint.deleteRecursively(work);
        }
        System.out.print(WorldEval.table(report));
        if (json != null) {
            writeAtomically(json, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(WorldEvalOutput.json(report)) + "\n");
            System.err.println("wrote " + json);
        }
        if (chart != null) {
            writeAtomically(chart, WorldEvalOutput.svg(report));
            System.err.println("wrote " + chart);
        }
        return 0;
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path abs = file.toAbsolutePath();
        Path tmp = Files.createTempFile(abs.getParent(), ".tav-eval", ".tmp");
        try {
            Files.writeString(tmp, text);
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private String prompt(int video) {
        return prompts.size() == 1 ? prompts.getFirst() : prompts.get(video);
    }

    private void writeJson(List<ClipMetrics.Scores> scores, double fc, double ta) throws IOException {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("clip", clip.toAbsolutePath().normalize().toString());
        root.put("metrics", "LOVEU-TGVE scripts/run_eval.py: frame_consistency = mean cosine of CLIP image embeddings over ordered pairs "
                + "of distinct frames; text_alignment = mean over frames of exp(logit_scale) * cos(image, prompt)");
        if (preResize != null) root.put("pre_resize", preResize);
        ArrayNode list = root.putArray("videos");
        for (int i = 0; i < scores.size(); i++) {
            ClipMetrics.Scores s = scores.get(i);
            ObjectNode n = list.addObject();
            n.put("video", videos.get(i).toString());
            n.put("prompt", prompt(i));
            n.put("frames", s.frames());
            n.put("frame_consistency", s.frameConsistency());
            n.put("text_alignment", s.textAlignment());
            ArrayNode logits = n.putArray("logits_per_image");
            for (double l : s.logitsPerImage()) logits.add(l);
        }
        ObjectNode mean = root.putObject("mean");
        mean.put("videos", scores.size());
        mean.put("frame_consistency", fc);
        mean.put("text_alignment", ta);
        Path abs = json.toAbsolutePath();
        Path tmp = Files.createTempFile(abs.getParent(), ".tav-eval", ".json.tmp");
        try {
            Files.writeString(tmp, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        System.err.println("wrote " + json);
    }

    /** "480x480" → {480, 480}. */
    static int[] parseSize(String s) {
        String[] p = s.toLowerCase(Locale.ROOT).split("x");
        try {
            if (p.length == 2) {
                int w = Integer.parseInt(p[0].strip()), h = Integer.parseInt(p[1].strip());
                if (w >= 1 && h >= 1 && w <= 16384 && h <= 16384) return new int[]{w, h};
            }
        } catch (NumberFormatException ignored) {
            // the message below
        }
        throw new IllegalArgumentException("--pre-resize '" + s + "': expected WIDTHxHEIGHT, e.g. 480x480");
    }
}
