package dev.tav4j.model.eval;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.world.WorldMetrics;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/** A {@link WorldEval.Report} as JSON (every clip and the rows) and as an SVG bar chart (a panel per metric, a bar per variant). */
public final class WorldEvalOutput {
    private WorldEvalOutput() {}

    /** What each metric means, written into the JSON beside the numbers. */
    public static final String DEFINITIONS = "edit_accuracy: fraction of frames whose recognised foreground shape and colour both equal the edit "
            + "prompt's; motion_fidelity: 1 - mean over frames of min(1, |c_edit - c_source| / frame size), c the foreground centroid; "
            + "background_consistency: 1 - mean |dRGB| over background pixels of consecutive frames; reconstruction_psnr: PSNR (dB) of the "
            + "same start sampled with the source caption against the source (docs/eval.md, World ablations)";

    public static ObjectNode json(WorldEval.Report r) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("model", r.model().toAbsolutePath().normalize().toString());
        WorldEval.Settings s = r.settings();
        WorldEval.Method m = s.method();
        ObjectNode set = root.putObject("settings");
        set.put("clips", s.clips());
        set.put("frames", s.frames());
        set.put("seed", s.seed());
        set.put("split", "EVAL (held-out combinations)");
        set.put("tune_steps", m.tuneSteps());
        set.put("learning_rate", m.learningRate());
        set.put("ddim_steps", m.steps());
        set.put("guidance", m.guidance());
        set.put("method_seed", m.seed());
        root.put("metrics", DEFINITIONS);
        ArrayNode rows = root.putArray("variants");
        for (WorldEval.Summary sum : r.summaries()) {
            ObjectNode n = rows.addObject();
            n.put("variant", sum.variant().key());
            n.put("label", sum.variant().label());
            n.put("clips", sum.clips());
            stat(n, "edit_accuracy", sum.editAccuracy());
            stat(n, "motion_fidelity", sum.motionFidelity());
            stat(n, "background_consistency", sum.backgroundConsistency());
            stat(n, "reconstruction_psnr", sum.psnr());
            n.put("seconds", sum.seconds());
        }
        ArrayNode clips = root.putArray("clips");
        for (WorldEval.ClipResult c : r.results()) {
            ObjectNode n = clips.addObject();
            WorldMetrics.Scores sc = c.scores();
            n.put("variant", c.variant().key());
            n.put("clip", c.clip());
            n.put("index", c.index());
            n.put("source", c.source());
            n.put("edit", c.edit().kind().word());
            n.put("prompt", c.edit().prompt());
            num(n, "edit_accuracy", sc.editAccuracy());
            num(n, "shape_accuracy", sc.shapeAccuracy());
            num(n, "colour_accuracy", sc.colourAccuracy());
            num(n, "background_accuracy", sc.backgroundAccuracy());
            num(n, "motion_fidelity", sc.motionFidelity());
            num(n, "background_consistency", sc.backgroundConsistency());
            num(n, "reconstruction_psnr", sc.psnr());
            n.put("recognised", String.valueOf(sc.colour()).toLowerCase(Locale.ROOT) + " " + String.valueOf(sc.shape()).toLowerCase(Locale.ROOT)
                    + " on " + String.valueOf(sc.backgroundColour()).toLowerCase(Locale.ROOT) + " " + String.valueOf(sc.backgroundPattern()).toLowerCase(Locale.ROOT));
            n.put("seconds", c.seconds());
        }
        return root;
    }

    private static void stat(ObjectNode n, String name, WorldEval.Stat s) {
        ObjectNode o = n.putObject(name);
        num(o, "mean", s.mean());
        num(o, "sd", s.sd());
        o.put("n", s.n());
    }

    /** JSON has no NaN or infinity: those are null. */
    private static void num(ObjectNode n, String name, double v) {
        if (Double.isFinite(v)) n.put(name, v);
        else n.putNull(name);
    }

    private record Panel(String title, Function<WorldEval.Summary, WorldEval.Stat> stat, double max, String format) {}

    private static final String[] COLOURS = {"#1b6ac9", "#d1495b", "#edae49", "#66a182", "#8d6cab", "#5b5b5b"};

    /**
     * The chart: four panels (edit accuracy, motion fidelity, background consistency on [0, 1]; PSNR in dB), in each a
     * bar per variant at its mean with a whisker of ± one standard deviation and the value written above it; the
     * legend names the variants in the bars' colours.
     */
    public static String svg(WorldEval.Report r) {
        List<WorldEval.Summary> rows = r.summaries();
        double psnrMax = 10;
        for (WorldEval.Summary s : rows)
            if (Double.isFinite(s.psnr().mean())) psnrMax = Math.max(psnrMax, s.psnr().mean() + (Double.isFinite(s.psnr().sd()) ? s.psnr().sd() : 0));
        psnrMax = Math.ceil(psnrMax / 4) * 4;  // whole-number ticks at quarters
        List<Panel> panels = List.of(
                new Panel("edit accuracy ↑", WorldEval.Summary::editAccuracy, 1, "%.2f"),
                new Panel("motion fidelity ↑", WorldEval.Summary::motionFidelity, 1, "%.2f"),
                new Panel("background consistency ↑", WorldEval.Summary::backgroundConsistency, 1, "%.3f"),
                new Panel("reconstruction PSNR (dB) ↑", WorldEval.Summary::psnr, psnrMax, "%.1f"));
        int panelW = 230, panelH = 260, top = 60, left = 20, plotTop = 40, plotH = 170, legendH = 24 * ((rows.size() + 2) / 3) + 10;
        int width = left * 2 + panelW * panels.size(), height = top + panelH + legendH;
        WorldEval.Settings s = r.settings();
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">%n", width, height, width, height));
        b.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">Tune-A-Video ablations on the world: "
                + "%d held-out clip%s of %d frames</text>%n", left, s.clips(), s.clips() == 1 ? "" : "s", s.frames()));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"44\" fill=\"#555\">tuning %d steps at lr %s, DDIM %d steps, guidance %s, seed %d; "
                        + "bars: mean, whiskers: ± 1 s.d. over clips</text>%n", left, s.method().tuneSteps(), s.method().learningRate(),
                s.method().steps(), s.method().guidance(), s.seed()));
        for (int p = 0; p < panels.size(); p++) {
            Panel panel = panels.get(p);
            int x0 = left + p * panelW, y0 = top, px = x0 + 40, pw = panelW - 60, base = y0 + plotTop + plotH;
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>%n", x0 + 10, y0 + 20, esc(panel.title())));
            for (int t = 0; t <= 4; t++) {
                double v = panel.max() * t / 4;
                int y = (int) Math.round(base - plotH * (double) t / 4);
                b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>%n", px, y, px + pw, y));
                b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#555\">%s</text>%n", px - 4, y + 4,
                        panel.max() == 1 ? String.format(Locale.ROOT, "%.2f", v) : String.format(Locale.ROOT, "%.0f", v)));
            }
            double slot = (double) pw / rows.size();
            for (int i = 0; i < rows.size(); i++) {
                WorldEval.Stat st = panel.stat().apply(rows.get(i));
                double bx = px + slot * i + slot * 0.15, bw = slot * 0.7;
                String colour = COLOURS[i % COLOURS.length];
                if (st.n() == 0) {
                    b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#999\">n/a</text>%n", bx + bw / 2, base - 4));
                    continue;
                }
                double h = plotH * clamp(st.mean() / panel.max());
                b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s: %s</title></rect>%n",
                        bx, base - h, bw, h, colour, esc(rows.get(i).variant().label()), String.format(Locale.ROOT, panel.format(), st.mean())));
                double lo = plotH * clamp((st.mean() - st.sd()) / panel.max()), hi = plotH * clamp((st.mean() + st.sd()) / panel.max());
                b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>%n",
                        bx + bw / 2, base - lo, bx + bw / 2, base - hi));
                b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%s</text>%n",
                        bx + bw / 2, base - Math.max(h, hi) - 4, String.format(Locale.ROOT, panel.format(), st.mean())));
            }
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>%n", px, base, px + pw, base));
        }
        int ly = top + panelH;
        for (int i = 0; i < rows.size(); i++) {
            int lx = left + (i % 3) * 300, y = ly + (i / 3) * 24;
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/>%n", lx, y, COLOURS[i % COLOURS.length]));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", lx + 20, y + 12, esc(rows.get(i).variant().label())));
        }
        b.append("</svg>\n");
        return b.toString();
    }

    private static double clamp(double v) {
        return Double.isFinite(v) ? Math.max(0, Math.min(1, v)) : 0;
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
