package dev.tav4j.cli;

import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Issue 12: every bad setting is refused before any work, in one line naming it, and never with a stack trace. */
class HardeningCliTest {
    /** Exit 1, one "tav:" line naming every part, no stack trace, nothing loaded or computed. */
    private static void refusedUpFront(Tav.Run r, String... parts) {
        assertEquals(1, r.code(), r.all());
        String line = r.err().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(line.startsWith("tav: "), "one tav: line last: " + r.err());
        for (String p : parts) assertTrue(line.contains(p), "names '" + p + "': " + line);
        assertNoTrace(r);
        assertFalse(r.all().contains("loaded"), "refused before loading: " + r.all());
    }

    private static void assertNoTrace(Tav.Run r) {
        assertFalse(r.all().contains("\tat ") || r.all().contains("Caused by") || r.all().lines().anyMatch(l -> l.matches("^[\\w.$]+(Exception|Error)(: .*)?$")),
                "no stack trace: " + r.all());
    }

    /** {@code base} with the options of {@code more} replacing those of the same name (picocli refuses repeats). */
    private static Tav.Run run(List<String> base, String... more) {
        List<String> a = new ArrayList<>(base);
        for (int i = 0; i < more.length; i++) {
            int at = a.indexOf(more[i]);
            boolean hasValue = i + 1 < more.length && !more[i + 1].startsWith("--");
            if (at >= 0 && hasValue) a.set(at + 1, more[++i]);
            else {
                a.add(more[i]);
                if (hasValue) a.add(more[++i]);
            }
        }
        return Tav.run(a.toArray(String[]::new));
    }

    private static Tav.Run generate(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("generate", "--model", Tav.tinyModel().toString(), "--prompt", "a man is skiing",
                "--frames", "2", "--height", "64", "--width", "64", "--steps", "2", "--seed", "1", "--out", out.toString()));
        return run(a, more);
    }

    private static Tav.Run edit(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("edit", "--model", Tav.tinyModel().toString(), "--tuned", Tav.tinyModel().resolveSibling("tiny-tuned-a").toString(),
                "--prompt", "a man is surfing", "--frames", "2", "--height", "64", "--width", "64", "--steps", "2", "--out", out.toString()));
        return run(a, more);
    }

    private static Tav.Run tune(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("tune", "--model", Tav.tinyModel().toString(), "--video", Tav.video("man-skiing.mp4").toString(),
                "--prompt", "a man is skiing", "--frames", "2", "--height", "64", "--width", "64", "--steps", "1", "--out", out.toString()));
        return run(a, more);
    }

    @Test
    void everySubcommandsHelpExitsZero() {
        for (String cmd : List.of("info", "run", "tune", "edit", "generate", "demo", "eval", "plan", "world", "bench")) {
            Tav.Run r = Tav.run(cmd, "--help");
            assertEquals(0, r.code(), cmd + " --help: " + r.all());
            assertTrue(r.out().contains("Usage:"), cmd + ": " + r.out());
        }
    }

    @Test
    void generateHelpShowsItsDefaults() {
        String help = Tav.run("generate", "--help").out().replaceAll("\\s+", " ");
        for (String d : List.of("default: 8)", "default: 512;", "default: 50)", "default: 12.5)")) assertTrue(help.contains(d), d + " in " + help);
        String demo = Tav.run("demo", "--help").out().replaceAll("\\s+", " ");
        assertTrue(demo.contains("default: 10)") && demo.contains("default: 128)"), demo);
        for (String bench : List.of("unet", "tune")) {
            String b = Tav.run("bench", bench, "--help").out().replaceAll("\\s+", " ");
            for (String d : List.of("Frames (default: 8)", "(default: 32)", "(default: 2)", "(default: anchor)")) assertTrue(b.contains(d), d + " in " + b);
        }
    }

    @Test
    void withoutModelAndWithoutTheShippedOneTuneEditAndGenerateSayWhatToPass(@TempDir Path tmp) {
        Path shipped = Path.of("").toAbsolutePath().getParent().resolve(WorldModel.FOLDER);
        Assumptions.assumeFalse(Files.exists(shipped), "the shipped world model is in this checkout (" + shipped + "): nothing to refuse");
        List<Tav.Run> runs = List.of(
                Tav.run("generate", "--prompt", "a red circle", "--seed", "1", "--out", tmp.resolve("g.gif").toString()),
                Tav.run("tune", "--video", tmp.resolve("v.gif").toString(), "--prompt", "a red circle", "--out", tmp.resolve("t").toString()),
                Tav.run("edit", "--tuned", tmp.resolve("t").toString(), "--prompt", "a blue circle", "--seed", "1", "--out", tmp.resolve("e.gif").toString()));
        for (Tav.Run r : runs) {
            assertTrue(r.code() != 0, r.toString());
            String err = r.err().strip();
            assertEquals(1, err.lines().count(), "one line: " + err);
            assertTrue(err.contains("no shipped world model") && err.contains("--model"), err);
        }
    }

    /** The other side of the test above: with models/world-sd in the checkout, leaving out --model uses it at its own 64×64. */
    @Test
    void withTheShippedModelGenerateNeedsNoModel(@TempDir Path tmp) throws Exception {
        Path shipped = Path.of("").toAbsolutePath().getParent().resolve(WorldModel.FOLDER);
        Assumptions.assumeTrue(Files.exists(shipped), "the shipped world model is not in this checkout (" + shipped + ")");
        Path gif = tmp.resolve("g.gif");
        Tav.Run r = Tav.run("generate", "--prompt", "a red circle is moving right on a blue background", "--seed", "1",
                "--frames", "2", "--steps", "2", "--out", gif.toString());
        assertEquals(0, r.code(), r.all());
        assertTrue(r.err().contains("the shipped world model"), r.err());
        java.awt.image.BufferedImage first = javax.imageio.ImageIO.read(gif.toFile());
        assertEquals(64, first.getWidth(), "the world model's own frame size");
    }

    @Test
    void aUsageErrorIsOneLineAndExitTwo() {
        Tav.Run r = Tav.run("generate", "--frames", "many");
        assertEquals(2, r.code(), r.all());
        assertTrue(r.err().startsWith("tav: ") && r.err().contains("--frames"), r.err());
        assertTrue(r.err().strip().lines().count() <= 2, "no usage dump: " + r.err());
    }

    @Test
    void zeroStepsAreRefusedNamingTheSettingBeforeLoading(@TempDir Path dir) {
        refusedUpFront(generate(dir.resolve("g.gif"), "--steps", "0"), "--steps", "at least 1", "0");
        refusedUpFront(edit(dir.resolve("e.gif"), "--video", Tav.video("man-skiing.mp4").toString(), "--inv-steps", "0"), "--inv-steps", "at least 1");
        Path out = dir.resolve("tuned");
        refusedUpFront(tune(out, "--validate-prompt", "a man is surfing", "--validate-steps", "0"), "--validate-steps", "at least 1");
        assertFalse(Files.exists(out), "no output folder for a run that never started");
    }

    @Test
    void yamlStepsZeroIsRefusedNamingTheKey(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("c.yaml"), String.join("\n",
                "pretrained_model_path: " + Tav.tinyModel(), "output_dir: " + dir.resolve("out"),
                "train_data:", "  video_path: " + Tav.video("man-skiing.mp4"), "  prompt: a man is skiing",
                "  n_sample_frames: 2", "  width: 64", "  height: 64",
                "validation_data:", "  prompts: [a man is surfing]", "  num_inference_steps: 0",
                "max_train_steps: 1", "seed: 1", "mixed_precision: \"no\"", ""));
        refusedUpFront(Tav.run("run", cfg.toString()), "validation_data.num_inference_steps", "at least 1");
        assertFalse(Files.exists(dir.resolve("out")));
        Files.writeString(cfg, Files.readString(cfg).replace("num_inference_steps: 0", "num_inference_steps: 2\nvalidation_steps: 0"));
        refusedUpFront(Tav.run("run", cfg.toString()), "validation_steps", "at least 1");
    }

    @Test
    void yamlSyntaxErrorHasALineNumber(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("c.yaml"), "pretrained_model_path: x\ntrain_data:\n  prompt: [unclosed\n  width: 64\n");
        Tav.Run r = Tav.run("run", cfg.toString());
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("line "), r.err());
        assertFalse(r.err().contains("REDACTED") || r.err().contains("StreamReadFeature"), r.err());
        assertNoTrace(r);
    }

    @Test
    void nanGuidanceIsRefused(@TempDir Path dir) {
        refusedUpFront(generate(dir.resolve("g.gif"), "--guidance", "NaN"), "--guidance", "finite");
        assertFalse(Files.exists(dir.resolve("g.gif")));
    }

    @Test
    void outputInAReadOnlyOrMissingFolderIsRefusedBeforeTheCompute(@TempDir Path dir) {
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self")), "needs Linux /proc (not writable, even by root)");
        Path bad = Path.of("/proc/self/no-such/edit.gif");
        refusedUpFront(generate(bad), "--out", "no-such");
        Path out = dir.resolve("deep/new/folder/edit.gif");  // a missing folder is created
        Path gridBad = Path.of("/proc/self/grid.gif");
        refusedUpFront(edit(out, "--video", Tav.video("man-skiing.mp4").toString(), "--grid", gridBad.toString()), "--grid", "grid.gif");
        assertFalse(Files.exists(out), "the main output is not written when --grid cannot be");
    }

    @Test
    void hugeFramesOrSizesAreRefusedUpFrontInEveryComputingCommand(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        refusedUpFront(generate(dir.resolve("a.gif"), "--height", "80000", "--width", "80000"), "not enough memory");
        refusedUpFront(generate(dir.resolve("a.gif"), "--frames", "2147483647", "--height", "2147483640", "--width", "2147483640"), "not enough memory");
        refusedUpFront(edit(dir.resolve("b.gif"), "--video", Tav.video("man-skiing.mp4").toString(), "--frames", "100000"), "100000");
        refusedUpFront(edit(dir.resolve("b.gif"), "--height", "80000", "--width", "80000"), "not enough memory");
        refusedUpFront(tune(dir.resolve("t"), "--height", "80000", "--width", "80000"), "not enough memory");
        refusedUpFront(tune(dir.resolve("t"), "--frames", "100000"), "100000");
        refusedUpFront(Tav.run("demo", "--smoke-test", "--out", dir.resolve("d").toString(), "--frames", "100000"), "not enough memory");
        refusedUpFront(Tav.run("demo", "--smoke-test", "--out", dir.resolve("d").toString(), "--size", "80000"), "not enough memory");
        Path cfg = Files.writeString(dir.resolve("c.yaml"), String.join("\n",
                "pretrained_model_path: " + Tav.tinyModel(), "output_dir: " + dir.resolve("r"),
                "train_data:", "  video_path: " + Tav.video("man-skiing.mp4"), "  prompt: a man is skiing",
                "  n_sample_frames: 100000", "  width: 64", "  height: 64",
                "validation_data:", "  prompts: []", "max_train_steps: 1", "seed: 1", "mixed_precision: \"no\"", ""));
        refusedUpFront(Tav.run("run", cfg.toString()), "100000");
        for (String d : List.of("t", "d", "r")) assertFalse(Files.exists(dir.resolve(d)), d + " left behind");
        assertTrue(System.nanoTime() - t0 < 30_000_000_000L, "refused up front, not after computing");
    }

    @Test
    void demoWithZeroTuneStepsIsRefusedLeavingNothing(@TempDir Path dir) {
        Path out = dir.resolve("demo");
        refusedUpFront(Tav.run("demo", "--smoke-test", "--out", out.toString(), "--tune-steps", "0"), "--tune-steps", "at least 1");
        assertFalse(Files.exists(out));
    }

    @Test
    void aConfigValueOfTheWrongTypeNamesFileKeyAndTypes(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        try (Stream<Path> s = Files.walk(Tav.tinyModel())) {
            for (Path p : s.toList()) {
                Path q = model.resolve(Tav.tinyModel().relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(q);
                else Files.createSymbolicLink(q, p);
            }
        }
        Path cfg = model.resolve("unet/config.json");
        String json = Files.readString(cfg);
        Files.delete(cfg);
        Files.writeString(cfg, json.replace("\"layers_per_block\": 2", "\"layers_per_block\": \"two\""));
        Tav.Run r = Tav.run("generate", "--model", model.toString(), "--prompt", "x", "--frames", "2", "--height", "64", "--width", "64",
                "--steps", "1", "--seed", "1", "--out", dir.resolve("g.gif").toString());
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("unet/config.json") && r.err().contains("'layers_per_block' must be an integer, found a string (\"two\")"), r.err());
        assertNoTrace(r);
    }

    @Test
    void aWrongLatentsFileSaysHowManyTensorsNotAllTheirNames(@TempDir Path dir) {
        Map<String, Tensor> many = new LinkedHashMap<>();
        for (int i = 0; i < 112; i++) many.put("tensor_" + i, Tensor.zeros(1));
        Path file = dir.resolve("weights.safetensors");
        SafeTensorsWriter.write(file, many, Map.of());
        Tav.Run r = Tav.run("generate", "--model", Tav.tinyModel().toString(), "--prompt", "x", "--frames", "2", "--height", "64",
                "--width", "64", "--latents", file.toString(), "--out", dir.resolve("g.gif").toString());
        refusedUpFront(r, "weights.safetensors", "112 tensors", "tensor_0");
        assertFalse(r.err().contains("tensor_50"), r.err());
    }

    /** A latents file holding one tensor named 'latents' of {@code shape}. */
    private static Path latents(Path dir, String name, int... shape) {
        Path file = dir.resolve(name);
        SafeTensorsWriter.write(file, Map.of("latents", Tensor.zeros(shape)), Map.of());
        return file;
    }

    @Test
    void latentsOfTheWrongShapeAreRefusedBeforeLoading(@TempDir Path dir) {
        // generate: (1, 4, frames, height/8, width/8) from --frames/--height/--width; 3 frames where 2 are asked for
        Path wrong = latents(dir, "wrong.safetensors", 1, 4, 3, 8, 8);
        Tav.Run r = Tav.run("generate", "--model", Tav.tinyModel().toString(), "--prompt", "x", "--frames", "2", "--height", "64",
                "--width", "64", "--steps", "1", "--latents", wrong.toString(), "--out", dir.resolve("g.gif").toString());
        refusedUpFront(r, "wrong.safetensors", "[1, 4, 3, 8, 8]", "[1, 4, 2, 8, 8]", "--frames/--height/--width");
        // edit: the channels the tuned UNet takes, and a rank of 5
        List<String> edit = List.of("edit", "--model", Tav.tinyModel().toString(), "--tuned", Tav.tinyModel().resolveSibling("tiny-tuned-a").toString(),
                "--prompt", "x", "--steps", "1", "--out", dir.resolve("e.gif").toString(), "--latents");
        Path channels = latents(dir, "channels.safetensors", 1, 3, 2, 8, 8);
        refusedUpFront(run(edit, channels.toString()), "channels.safetensors", "3 channels", "takes 4");
        Path rank = latents(dir, "rank.safetensors", 4, 2, 8, 8);
        refusedUpFront(run(edit, rank.toString()), "rank.safetensors", "[4, 2, 8, 8]", "(1, 4, frames");
    }

    @Test
    void moreDdimStepsThanTrainingTimestepsAreRefusedBeforeLoading(@TempDir Path dir) throws Exception {
        // diffusers' set_timesteps refuses num_inference_steps > num_train_timesteps (1000): here before any work
        refusedUpFront(generate(dir.resolve("g.gif"), "--steps", "1001"), "--steps", "at most 1000", "1001");
        refusedUpFront(edit(dir.resolve("e.gif"), "--video", Tav.video("man-skiing.mp4").toString(), "--inv-steps", "5000"), "--inv-steps", "at most 1000");
        refusedUpFront(edit(dir.resolve("e.gif"), "--steps", "1001"), "--steps", "at most 1000");
        Path out = dir.resolve("tuned");
        refusedUpFront(tune(out, "--validate-prompt", "a man is surfing", "--validate-steps", "1001"), "--validate-steps", "at most 1000");
        assertFalse(Files.exists(out), "no output folder for a run that never started");
        Path cfg = config(dir, "validation_data:", "  prompts: [a man is surfing]", "  num_inference_steps: 1001");
        refusedUpFront(Tav.run("run", cfg.toString()), at(cfg, "validation_data.", "num_inference_steps"), "at most 1000");
        cfg = config(dir, "validation_data:", "  prompts: [a man is surfing]", "  num_inference_steps: 2", "  use_inv_latent: true",
                "  num_inv_steps: 2000");
        refusedUpFront(Tav.run("run", cfg.toString()), at(cfg, "validation_data.", "num_inv_steps"), "at most 1000");
        assertFalse(Files.exists(dir.resolve("out")));
    }

    /** dir/c.yaml: a small valid config (max_train_steps 1, seed 1, mixed_precision "no" unless {@code more} sets them) and {@code more}. */
    private static Path config(Path dir, String... more) throws Exception {
        List<String> lines = new ArrayList<>(List.of("pretrained_model_path: " + Tav.tinyModel(), "output_dir: " + dir.resolve("out"),
                "train_data:", "  video_path: " + Tav.video("man-skiing.mp4"), "  prompt: a man is skiing",
                "  n_sample_frames: 2", "  width: 64", "  height: 64"));
        String all = String.join("\n", more);
        if (!all.contains("validation_data:")) lines.add("validation_data: {prompts: []}");
        for (String k : List.of("max_train_steps: 1", "seed: 1", "mixed_precision: \"no\""))
            if (!all.contains(k.substring(0, k.indexOf(':') + 1))) lines.add(k);
        lines.addAll(List.of(more));
        return Files.writeString(dir.resolve("c.yaml"), String.join("\n", lines) + "\n");
    }

    /** "FILE:LINE: KEY" for the first line of {@code cfg} that starts with {@code key:} (indented or not). */
    private static String at(Path cfg, String section, String key) throws Exception {
        List<String> lines = Files.readAllLines(cfg);
        for (int i = 0; i < lines.size(); i++)
            if (lines.get(i).strip().startsWith(key + ":")) return cfg + ":" + (i + 1) + ": " + section + key;
        throw new AssertionError(key + " not in " + cfg);
    }

    @Test
    void aBadYamlValueNamesTheFileItsKeyAndItsLine(@TempDir Path dir) throws Exception {
        Path cfg = config(dir, "learning_rate: abc");
        refusedUpFront(Tav.run("run", cfg.toString()), at(cfg, "", "learning_rate"), "must be a number", "abc");
        cfg = config(dir, "max_train_steps: -3");
        refusedUpFront(Tav.run("run", cfg.toString()), at(cfg, "", "max_train_steps"), "at least 1", "-3");
        Files.writeString(cfg, Files.readString(config(dir)).replace("  n_sample_frames: 2", "  n_sample_frames: \"x\""));
        refusedUpFront(Tav.run("run", cfg.toString()), at(cfg, "train_data.", "n_sample_frames"), "'x'");
        Files.writeString(cfg, Files.readString(config(dir)).replace("  width: 64", "  width: 60"));
        refusedUpFront(Tav.run("run", cfg.toString()), at(cfg, "train_data.", "width"), "multiples of 8");
        cfg = config(dir, "mixed_precision: yes");  // YAML 1.1 reads yes as true: not a precision
        refusedUpFront(Tav.run("run", cfg.toString()), at(cfg, "", "mixed_precision"), "'true' must be no, fp16 or bf16");
        assertEquals(Map.of("a", 1, "b", 2, "b.c", 3, "b.d", 5, "e", 6),
                TuneConfig.lines("a: 1\nb:\n  c: [1,\n      2]\n  d: x\ne: {}\n"));
    }

    @Test
    void mixedPrecisionNoUnquotedIsNoSilently(@TempDir Path dir) throws Exception {
        // YAML 1.1 reads an unquoted no (and off, false) as the boolean false; accelerate's value is the word "no"
        for (String v : List.of("no", "No", "off", "false", "\"no\"")) {
            Path cfg = config(dir, "mixed_precision: " + v);
            TuneConfig c = TuneConfig.read(cfg);
            assertEquals("no", c.mixedPrecision().strip().toLowerCase(java.util.Locale.ROOT), v);
            assertEquals(dev.tav4j.runtime.DType.F32, RunCommand.precision(c.mixedPrecision(), null, c.at("mixed_precision")), v);
        }
        // and the run gets past it without a word about it (refused later, for a reason of its own, before loading)
        Path cfg = config(dir, "mixed_precision: no", "max_grad_norm: 0");
        Tav.Run r = Tav.run("run", cfg.toString());
        refusedUpFront(r, "max_grad_norm");
        assertFalse(r.err().contains("mixed_precision"), r.err());
    }

    @Test
    void anInternalErrorIsOneLineWithTheFileHoldingTheTrace() throws Exception {
        String line = Errors.report(new RuntimeException("wrapped", new NullPointerException("boom")), null);
        assertTrue(line.startsWith("internal error: ") && line.contains("boom") && line.contains("full trace in "), line);
        Path trace = Path.of(line.substring(line.indexOf("full trace in ") + "full trace in ".length()).split(" ")[0]);
        assertTrue(Files.readString(trace).contains("NullPointerException"), trace.toString());
        Files.delete(trace);
        assertEquals("a bad value", Errors.report(new IllegalArgumentException("a bad value"), null));
    }

    @Test
    void aLongPromptWarnsInOneShortLine(@TempDir Path dir) {
        String prompt = "a red ball ".repeat(100) + "zebra";  // 301 words, far past CLIP's 77 tokens
        Tav.Run r = Tav.run("generate", "--model", Tav.tinyModel().toString(), "--prompt", prompt, "--frames", "1", "--height", "64",
                "--width", "64", "--steps", "1", "--seed", "1", "--out", dir.resolve("g.gif").toString());
        assertEquals(0, r.code(), r.all());
        List<String> warnings = r.err().lines().filter(l -> l.contains("truncated")).toList();
        assertEquals(1, warnings.size(), r.err());
        assertTrue(warnings.getFirst().startsWith("warning: ") && warnings.getFirst().contains("dropped"), r.err());
        assertTrue(warnings.getFirst().length() < 200, warnings.getFirst());
        assertFalse(r.err().contains("zebra") || r.err().contains("WARNING") || r.err().contains("ClipTokenizer"), r.err());
    }
}
