package dev.tav4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.clip.ClipImageProcessor;
import dev.tav4j.model.clip.ClipMetrics;
import dev.tav4j.model.clip.ClipModel;
import dev.tav4j.model.config.Json;
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
        "Every frame of each video (or every image of a folder) is scored, preprocessed as CLIPImageProcessor does."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--clip", required = true, paramLabel = "DIR",
            description = "A transformers CLIPModel folder: config.json, model.safetensors, vocab.json and merges.txt (beside them or in tokenizer/), "
                    + "optionally preprocessor_config.json; the paper's numbers use openai/clip-vit-large-patch14.")
    Path clip;
    @Option(names = "--prompt", required = true, paramLabel = "TEXT",
            description = "The edit prompt the videos are scored against: once for all videos, or once per video in the order of the videos.")
    List<String> prompts = new ArrayList<>();
    @Parameters(arity = "1..*", paramLabel = "VIDEO", description = "Videos (MP4, GIF, …) or folders of .png/.jpg frames.")
    List<Path> videos = new ArrayList<>();
    @Option(names = "--json", paramLabel = "FILE", description = "Also write the scores as JSON to FILE.")
    Path json;
    @Option(names = "--pre-resize", paramLabel = "WxH",
            description = "First resize every frame straight to W×H with Pillow's bicubic, as run_eval.py does with 480x480 for LOVEU-TGVE "
                    + "(default: none; frames go to CLIP's preprocessing at their own size).")
    String preResize;
    @Mixin DeviceOption device;

    @Override public Integer call() throws IOException {
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
