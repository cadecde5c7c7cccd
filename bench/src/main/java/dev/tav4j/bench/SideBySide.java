package dev.tav4j.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.Json;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The report of {@code tav bench pipeline}: per stage tav4j's ms per step, achieved TFLOP/s and fraction of the
 * device's peak, peak memory, the PyTorch figures beside them and the ratio PyTorch / tav4j (above 1: tav4j is
 * faster); then the whole official man-skiing run projected from the per-step times.
 */
public final class SideBySide {
    /** The man-skiing config: 500 tuning steps; 50 inversion and 50 guided steps per edit. */
    static final int TUNE_STEPS = 500, INV_STEPS = 50, EDIT_STEPS = 50;
    /** validation_steps 100 → 5 validations, each one inversion and 4 prompts. */
    static final int VALIDATIONS = 5, PROMPTS = 4;

    /** One frame count: tav4j's result and, when asked, PyTorch's. */
    public record Run(PipelineBench.Result tav, TorchBench.Result torch) {}

    private SideBySide() {}

    public static String table(String model, Run run) {
        PipelineBench.Result t = run.tav();
        Optional<DevicePeaks.Peak> peak = DevicePeaks.of(t.device());
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%s (%.1fM parameters), %d frames, %d×%d latents (%d×%d pixels), %s; tav4j: %s on %s%s%n",
                model, t.params() / 1e6, t.frames(), t.latent(), t.latent(), 8 * t.latent(), 8 * t.latent(), t.precision(), t.backend(),
                t.device(), peak.map(p -> String.format(Locale.ROOT, ", peak %.1f TFLOP/s %s", p.tflops(t.precision()), t.precision())).orElse("")));
        if (run.torch() != null)
            b.append(String.format(Locale.ROOT, "PyTorch %s on %s (eager, SDPA)%n", run.torch().torchVersion(), run.torch().device()));
        b.append(String.format(Locale.ROOT, "%-20s %10s %8s %7s %15s %11s %12s %14s%n", "stage", "tav4j ms", "TFLOP/s", "% peak",
                "tav4j mem", "PyTorch ms", "PyTorch mem", "PyTorch/tav4j"));
        for (String name : PipelineBench.STAGES) {
            PipelineBench.Stage s = t.stage(name);
            if (s == null) continue;
            TorchBench.Stage p = run.torch() == null ? null : run.torch().stage(name);
            if (!s.ok()) {
                b.append(String.format(Locale.ROOT, "%-20s %10s   (did not run: %s)%s%n", label(name), "-", s.error(),
                        p == null ? "" : String.format(Locale.ROOT, "  PyTorch %.1f ms", p.msPerStep())));
                continue;
            }
            b.append(String.format(Locale.ROOT, "%-20s %10.1f %8.3g %7s %15s %11s %12s %14s%n", label(name), s.msPerStep(), s.tflops(),
                    peakFraction(t, s).map(f -> String.format(Locale.ROOT, "%.1f%%", 100 * f)).orElse(t.backend().equals("cpu") ? "n/a" : "unknown"),
                    memory(s), p == null ? "-" : String.format(Locale.ROOT, "%.1f", p.msPerStep()),
                    p == null ? "-" : p.peakBytes() < 0 ? "n/a" : gib(p.peakBytes()),
                    p == null ? "-" : String.format(Locale.ROOT, "%.2f", p.msPerStep() / s.msPerStep())));
        }
        b.append(projection(run, 1, "whole man-skiing run (500 tuning + 50 inversion + 50 editing steps, UNet work only)"));
        b.append(projection(run, 2, "as train_tuneavideo.py runs that config (+ 5 validations: 250 inversion + 1000 editing steps)"));
        if (t.frames() != 24) b.append("(the official config tunes 24 frames; this run has ").append(t.frames()).append(")\n");
        return b.toString();
    }

    private static String label(String stage) {
        return switch (stage) {
            case "tune" -> "tuning step";
            case "invert" -> "inversion step";
            default -> "guided editing step";
        };
    }

    private static String memory(PipelineBench.Stage s) {
        return s.peakDeviceBytes() >= 0 ? gib(s.peakDeviceBytes()) : gib(s.peakHostBytes()) + " host";
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }

    /** Achieved / peak for the stage's precision; empty on the CPU or an unknown GPU. */
    static Optional<Double> peakFraction(PipelineBench.Result t, PipelineBench.Stage s) {
        if (t.backend().equals("cpu") || !s.ok()) return Optional.empty();
        return DevicePeaks.of(t.device()).map(p -> s.tflops() / p.tflops(t.precision()));
    }

    /** Seconds of the projected run: kind 1 = tune + one edit, kind 2 = as the official script runs the config. */
    static double projected(double tuneMs, double invMs, double editMs, int kind) {
        double inv = kind == 1 ? INV_STEPS : VALIDATIONS * INV_STEPS, edit = kind == 1 ? EDIT_STEPS : VALIDATIONS * PROMPTS * EDIT_STEPS;
        return (TUNE_STEPS * tuneMs + inv * invMs + edit * editMs) / 1e3;
    }

    private static String projection(Run run, int kind, String what) {
        double tav = projected(ms(run.tav(), "tune"), ms(run.tav(), "invert"), ms(run.tav(), "edit"), kind);
        String line = String.format(Locale.ROOT, "%s: tav4j %s", what, duration(tav));
        if (run.torch() != null) {
            double torch = projected(ms(run.torch(), "tune"), ms(run.torch(), "invert"), ms(run.torch(), "edit"), kind);
            line += String.format(Locale.ROOT, ", PyTorch %s, PyTorch/tav4j %s", duration(torch),
                    Double.isNaN(tav) || Double.isNaN(torch) ? "n/a" : String.format(Locale.ROOT, "%.2f", torch / tav));
        }
        return line + "\n";
    }

    private static String duration(double seconds) {
        return Double.isNaN(seconds) ? "n/a (a stage did not run)" : String.format(Locale.ROOT, "%.1f min", seconds / 60);
    }

    private static double ms(PipelineBench.Result r, String stage) {
        PipelineBench.Stage s = r.stage(stage);
        return s == null || !s.ok() ? Double.NaN : s.msPerStep();
    }

    private static double ms(TorchBench.Result r, String stage) {
        TorchBench.Stage s = r.stage(stage);
        return s == null ? Double.NaN : s.msPerStep();
    }

    /** One JSON object for all frame counts (NaN figures become null). */
    public static String json(String model, List<Run> runs) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("bench", "pipeline");
        root.put("model", model);
        var arr = root.putArray("runs");
        for (Run run : runs) {
            PipelineBench.Result t = run.tav();
            ObjectNode r = arr.addObject();
            r.put("frames", t.frames());
            r.put("latent", t.latent());
            r.put("timed_steps", t.steps());
            ObjectNode tav = r.putObject("tav4j");
            tav.put("backend", t.backend());
            tav.put("device", t.device());
            tav.put("precision", t.precision());
            tav.put("params_millions", t.params() / 1e6);
            ObjectNode stages = tav.putObject("stages");
            ObjectNode ratio = r.putObject("ratio_torch_over_tav4j");
            for (PipelineBench.Stage s : t.stages()) {
                ObjectNode o = stages.putObject(s.name());
                num(o, "ms_per_step", s.msPerStep());
                num(o, "gflop_per_step", s.gflopPerStep());
                num(o, "tflops", s.ok() ? s.tflops() : Double.NaN);
                num(o, "peak_fraction", peakFraction(t, s).orElse(Double.NaN));
                if (s.peakDeviceBytes() >= 0) o.put("peak_device_bytes", s.peakDeviceBytes()); else o.putNull("peak_device_bytes");
                if (s.peakHostBytes() >= 0) o.put("peak_host_bytes", s.peakHostBytes()); else o.putNull("peak_host_bytes");
                if (s.error() != null) o.put("error", s.error());
                if (run.torch() != null) num(ratio, s.name(), ms(run.torch(), s.name()) / (s.ok() ? s.msPerStep() : Double.NaN));
            }
            ObjectNode proj = r.putObject("projected_seconds");
            num(proj, "tav4j_run", projected(ms(t, "tune"), ms(t, "invert"), ms(t, "edit"), 1));
            num(proj, "tav4j_official_script", projected(ms(t, "tune"), ms(t, "invert"), ms(t, "edit"), 2));
            if (run.torch() != null) {
                TorchBench.Result p = run.torch();
                num(proj, "torch_run", projected(ms(p, "tune"), ms(p, "invert"), ms(p, "edit"), 1));
                num(proj, "torch_official_script", projected(ms(p, "tune"), ms(p, "invert"), ms(p, "edit"), 2));
                r.set("torch", p.json());
            } else {
                r.putNull("torch");
            }
        }
        return root.toString();
    }

    private static void num(ObjectNode o, String key, double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) o.putNull(key); else o.put(key, v);
    }
}
