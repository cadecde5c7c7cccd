package dev.tav4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.eval.WorldEval;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pretrain.Pretrain;
import dev.tav4j.model.pretrain.PretrainConfig;
import dev.tav4j.video.VideoReader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code tav eval --world} and {@code tav demo --model} end to end on a tiny pretrained world model (32×32), and their bad inputs. */
class WorldEvalCommandTest {
    @TempDir static Path shared;
    private static Path model;

    @BeforeAll
    static void tinyModel() {
        model = shared.resolve("tiny");
        new Pretrain(new CpuOps(), new Pretrain.Options(model, Pretrain.Stage.ALL, PretrainConfig.tiny().withSteps(2, 2), 42, false, false, "test"),
                Progress.NONE, s -> {}).run();
    }

    @Test
    void evalWorldPrintsTheTableAndWritesJsonAndChart(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("out/world.json"), chart = tmp.resolve("out/world.svg");
        Tav.Run r = Tav.run("eval", "--world", "--model", model.toString(), "--clips", "2", "--frames", "4", "--variants", "full,no-tuning,no-inversion",
                "--tune-steps", "2", "--steps", "3", "--json", json.toString(), "--chart", chart.toString());
        assertEquals(0, r.code(), r.all());
        for (String row : new String[]{"full method", "w/o one-shot tuning", "w/o DDIM inversion"}) assertTrue(r.out().contains(row), r.out());
        assertTrue(r.out().contains("edit accuracy") && r.out().contains("motion fidelity"), r.out());
        assertEquals(6, r.err().lines().filter(l -> l.startsWith("clip ")).count(), "a line per clip and variant: " + r.err());
        JsonNode j = Json.read(json);
        assertEquals(3, j.get("variants").size());
        assertEquals(6, j.get("clips").size());
        assertEquals(2, j.get("settings").get("tune_steps").asInt());
        assertTrue(j.get("variants").get(0).get("motion_fidelity").get("mean").isNumber(), j.toString());
        String svg = Files.readString(chart);
        assertTrue(svg.startsWith("<svg") && svg.contains("w/o DDIM inversion") && svg.contains("motion fidelity"), svg);
    }

    @Test
    void evalWorldRefusesBadInputInOneLineBeforeAnyCompute(@TempDir Path tmp) {
        String m = model.toString();
        refused(Tav.run("eval", "--world", "--model", m, "--variants", "full,causal"), "--variants", "causal", "causal-attention");
        refused(Tav.run("eval", "--world", "--model", m, "--variants", "full,full"), "--variants", "twice");
        refused(Tav.run("eval", "--world", "--model", m, "--clips", "0"), "--clips");
        refused(Tav.run("eval", "--world", "--model", m, "--frames", "1"), "--frames");
        refused(Tav.run("eval", "--world", "--model", m, "--frames", "100000000"), "not enough memory", "--frames");
        refused(Tav.run("eval", "--world", "--model", m, "--tune-steps", "0"), "--tune-steps");
        refused(Tav.run("eval", "--world", "--model", m, "--guidance", "0.5"), "--guidance");
        refused(Tav.run("eval", "--world", "--model", m, "--chart", tmp.resolve("c.png").toString()), "--chart", "SVG");
        refused(Tav.run("eval", "--world", "--model", tmp.resolve("none").toString()), "--model", "none");
        refused(Tav.run("eval", "--world", "--model", m, "--clip", m), "--world", "--clip");
        refused(Tav.run("eval", "--chart", tmp.resolve("c.svg").toString(), "--clip", m, "--prompt", "x", "v.gif"), "--chart", "--world");
        if (!Files.exists(Path.of("..").resolve(WorldModel.EVAL_FOLDER)))  // no shipped model yet: the default says so in one line
            refused(Tav.run("eval", "--world", "--clips", "1"), WorldModel.EVAL_FOLDER, "--model");
        Tav.Run usage = Tav.run("eval", "--prompt", "x", "v.gif");
        assertEquals(2, usage.code(), usage.all());
        assertTrue(usage.err().contains("--clip"), usage.err());
    }

    @Test
    void demoOnAWorldModelWritesSourceBesideEachEditAndTheMetrics(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("demo");
        Tav.Run r = Tav.run("demo", "--model", model.toString(), "--out", out.toString(), "--frames", "4", "--tune-steps", "2", "--steps", "2");
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("source (a held-out combination") && r.out().contains("shape edit:") && r.out().contains("reconstruction"), r.out());
        for (String kind : new String[]{"shape", "colour", "background"}) {
            var frames = VideoReader.readAll(out.resolve("edit-" + kind + ".gif"));
            assertEquals(4, frames.size());
            assertTrue(frames.getFirst().getWidth() >= 2 * 4 * 32, "source | edit side by side, each 4x the tiny model's 32x32");
        }
        assertEquals(4, VideoReader.readAll(out.resolve("demo.gif")).size());
        JsonNode j = Json.read(out.resolve("metrics.json"));
        assertEquals(3, j.get("edits").size());
        assertTrue(j.get("edits").get(1).get("prompt").asText().contains(" is "), j.toString());
        assertEquals(WorldEval.Method.defaults().tuneSteps(), DemoCommand.WORLD_TUNE_STEPS, "the demo's method is WorldEval's default");
        assertEquals(WorldEval.Method.defaults().steps(), DemoCommand.WORLD_STEPS);
    }

    @Test
    void demoRefusesBadInputInOneLine(@TempDir Path tmp) {
        Path out = tmp.resolve("d");
        refused(Tav.run("demo", "--model", tmp.resolve("gone").toString(), "--out", out.toString()), "--model", "gone");
        refused(Tav.run("demo", "--model", model.toString(), "--smoke-test", "--out", out.toString()), "--smoke-test", "--model");
        refused(Tav.run("demo", "--model", model.toString(), "--size", "64", "--out", out.toString()), "--size", "--smoke-test");
        refused(Tav.run("demo", "--model", model.toString(), "--tune-steps", "0", "--out", out.toString()), "--tune-steps");
        refused(Tav.run("demo", "--model", model.toString(), "--frames", "1", "--out", out.toString()), "--frames");
        refused(Tav.run("demo", "--model", model.toString(), "--frames", "100000000", "--out", out.toString()), "not enough memory", "--frames");
        assertFalse(Files.exists(out), "nothing written");
    }

    /** Exit 1, one last "tav:" line naming every part, no trace. */
    static void refused(Tav.Run r, String... parts) {
        assertEquals(1, r.code(), r.all());
        String last = r.err().strip().lines().reduce((x, y) -> y).orElse("");
        assertTrue(last.startsWith("tav: "), r.err());
        for (String p : parts) assertTrue(last.contains(p), "'" + p + "' in: " + last);
        assertFalse(r.all().contains("\tat ") || r.all().contains("internal error"), "no trace: " + r.all());
        assertFalse(r.err().contains("clip 0"), "refused before any compute: " + r.err());
    }
}
