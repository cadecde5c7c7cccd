package dev.tav4j.model.eval;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pretrain.Pretrain;
import dev.tav4j.model.pretrain.PretrainConfig;
import dev.tav4j.model.world.Attributes;
import dev.tav4j.model.world.Colour;
import dev.tav4j.model.world.Sample;
import dev.tav4j.model.world.Split;
import dev.tav4j.model.world.WorldPrompt;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The world ablations end to end on a tiny pretrained model (32×32), the edit prompts, and the table, JSON and chart. */
class WorldEvalTest {
    private static final Ops CPU = new CpuOps();
    @TempDir static Path shared;
    private static Path model;

    @BeforeAll
    static void tinyModel() {
        model = shared.resolve("tiny");
        new Pretrain(CPU, new Pretrain.Options(model, Pretrain.Stage.ALL, PretrainConfig.tiny().withSteps(2, 2), 42, false, false, "test"),
                Progress.NONE, s -> {}).run();
    }

    @Test
    void eachEditChangesOneAttributeInTheCaptionsGrammarAndKeepsTheMotion() {
        for (int i = 0; i < 40; i++) {
            Sample s = WorldEval.source(64, 4, 7, i);
            assertEquals(Split.EVAL, s.split(), "sources are held-out combinations");
            Attributes a = s.scene().attributes();
            for (WorldEdits.Edit e : WorldEdits.all(s.scene(), i)) {
                WorldPrompt p = WorldPrompt.parse(e.prompt());
                Attributes b = new Attributes(p.shape(), p.colour(), p.pattern(), p.backgroundColour(), p.motion());
                assertEquals(a.motion(), b.motion(), e.prompt());
                assertEquals(a.pattern(), b.pattern(), e.prompt());
                int changed = (a.shape() != b.shape() ? 1 : 0) + (a.colour() != b.colour() ? 1 : 0) + (a.backgroundColour() != b.backgroundColour() ? 1 : 0);
                assertEquals(1, changed, s.caption() + " -> " + e.prompt());
                switch (e.kind()) {
                    case SHAPE -> assertNotEquals(a.shape(), b.shape());
                    case COLOUR -> assertNotEquals(a.colour(), b.colour());
                    case BACKGROUND -> assertNotEquals(a.backgroundColour(), b.backgroundColour());
                }
                assertTrue(Colour.contrasts(b.colour(), b.backgroundColour()), e.prompt());
            }
        }
        // deterministic; the kinds take turns over the clips
        assertEquals(WorldEval.editOf(WorldEval.source(64, 4, 7, 3), 7, 3), WorldEval.editOf(WorldEval.source(64, 4, 7, 3), 7, 3));
        assertEquals(WorldEdits.Kind.COLOUR, WorldEval.editOf(WorldEval.source(64, 4, 7, 4), 7, 4).kind());
    }

    @Test
    void everyVariantRunsOnATinyModelAndTheRowsDiffer(@TempDir Path work) throws Exception {
        WorldEval.Method m = new WorldEval.Method(2, 1e-3f, 3, 7.5f, 1);
        WorldEval.Settings s = new WorldEval.Settings(2, 4, 0, m, List.of(WorldEval.Variant.values()));
        List<WorldEval.ClipResult> heard = new ArrayList<>();
        WorldEval.Report r = WorldEval.run(CPU, model, s, work, Progress.NONE, heard::add);
        assertEquals(2 * WorldEval.Variant.values().length, r.results().size());
        assertEquals(r.results(), heard);
        for (WorldEval.ClipResult c : r.results()) {
            assertEquals(4, c.scores().frames());
            assertTrue(Double.isFinite(c.scores().motionFidelity()) && Double.isFinite(c.scores().psnr())
                    && Double.isFinite(c.scores().backgroundConsistency()), c.toString());
        }
        try (var left = Files.list(work)) {
            assertEquals(0, left.count(), "the tuning runs' files are deleted");
        }
        // the variants change the computation: each row's reconstruction differs from the full method's
        double full = r.summary(WorldEval.Variant.FULL).psnr().mean();
        for (WorldEval.Variant v : WorldEval.Variant.values())
            if (v != WorldEval.Variant.FULL) assertNotEquals(full, r.summary(v).psnr().mean(), v.key());

        String table = WorldEval.table(r);
        for (WorldEval.Variant v : WorldEval.Variant.values()) assertTrue(table.contains(v.label()), table);
        var json = WorldEvalOutput.json(r);
        assertEquals(6, json.get("variants").size());
        assertEquals(12, json.get("clips").size());
        assertEquals("no-inversion", json.get("variants").get(2).get("variant").asText());
        assertEquals(2, json.get("variants").get(0).get("motion_fidelity").get("n").asInt());
        String svg = WorldEvalOutput.svg(r);
        Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        assertEquals("svg", d.getDocumentElement().getTagName());
        assertEquals(4 * 6, d.getElementsByTagName("title").getLength(), "a bar per metric and variant");
    }

    @Test
    void statsAndBadSettings() {
        WorldEval.Stat s = WorldEval.Stat.of(new double[]{1, 2, 3, Double.NaN, Double.POSITIVE_INFINITY});
        assertEquals(3, s.n());
        assertEquals(2, s.mean(), 1e-12);
        assertEquals(1, s.sd(), 1e-12);
        assertEquals(0, WorldEval.Stat.of(new double[]{Double.NaN}).n());
        assertThrows(IllegalArgumentException.class, () -> new WorldEval.Method(0, 1e-3f, 3, 7.5f, 1));
        assertThrows(IllegalArgumentException.class, () -> new WorldEval.Method(1, 1e-3f, 3, 0.5f, 1));
        assertThrows(IllegalArgumentException.class, () -> new WorldEval.Settings(0, 4, 0, WorldEval.Method.defaults(), List.of(WorldEval.Variant.FULL)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WorldEval.Variant.ofKey("causal"));
        assertTrue(e.getMessage().contains("full-attention") && e.getMessage().contains("causal-attention"), e.getMessage());
        assertFalse(WorldEval.tuneSettings(WorldEval.Variant.NO_TEMPORAL, WorldEval.Method.defaults()).trainableModules().contains("attn_temp"));
        assertTrue(WorldEval.tuneSettings(WorldEval.Variant.FULL, WorldEval.Method.defaults()).trainableModules().contains("attn_temp"));
    }
}
