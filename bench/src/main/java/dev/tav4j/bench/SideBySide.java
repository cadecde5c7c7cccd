package dev.tav4j.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.kernels.cpu.CpuFmaPeak;
import dev.tav4j.model.config.Json;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The report of {@code tav bench pipeline}: per stage tav4j's ms per step, achieved TFLOP/s and fraction of the
 * device's peak, peak memory, the PyTorch figures beside them (its fraction of the same peak for the same FLOPs) and
 * the ratio PyTorch / tav4j (above 1: tav4j is faster); then the whole official man-skiing run projected from the
 * per-step times. On the CPU the peak is the fp32 FMA peak measured on the machine ({@link CpuFmaPeak}); on a GPU
 * it is the data sheet's ({@link DevicePeaks}).
 */
public final class SideBySide {
    /** The man-skiing config: 500 tuning steps; 50 inversion and 50 guided steps per edit. */
    static final int TUNE_STEPS = 500, INV_STEPS = 50, EDIT_STEPS = 50;
    /** validation_steps 100 → 5 validations, each one inversion and 4 prompts. */
    static final int VALIDATIONS = 5, PROMPTS = 4;

    /** One frame count: tav4j's result, PyTorch's when asked, and the CPU's measured FMA peak on the cpu backend (else null). */
    public record Run(PipelineBench.Result tav, TorchBench.Result torch, CpuFmaPeak.Peak cpu) {
        public Run(PipelineBench.Result tav, TorchBench.Result torch) {
            this(tav, torch, null);
        }

        /** The peak in TFLOP/s that applies to this run, if known. */
        Optional<Double> peakTflops() {
            if (tav.backend().equals("cpu")) return Optional.ofNullable(cpu).map(c -> c.gflopsAll() / 1e3);
            return DevicePeaks.of(tav.device()).map(p -> p.tflops(tav.precision()));
        }
    }

    private SideBySide() {}

    public static String table(String model, Run run) {
        PipelineBench.Result t = run.tav();
        Optional<Double> peak = run.peakTflops();
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%s (%.1fM parameters), %d frames, %d×%d latents (%d×%d pixels), %s; tav4j: %s on %s%s%n",
                model, t.params() / 1e6, t.frames(), t.latent(), t.latent(), 8 * t.latent(), 8 * t.latent(), t.precision(), t.backend(),
                t.device(), peak.map(p -> String.format(Locale.ROOT, ", peak %.3g TFLOP/s %s%s", p, t.precision(),
                        run.cpu() != null ? " (measured FMA peak)" : "")).orElse("")));
        if (run.cpu() != null) b.append("CPU: ").append(run.cpu().describe()).append('\n');
        if (run.torch() != null)
            b.append(String.format(Locale.ROOT, "PyTorch %s on %s (eager, SDPA)%n", run.torch().torchVersion(), run.torch().device()));
        b.append(String.format(Locale.ROOT, "%-20s %10s %8s %7s %15s %11s %8s %12s %14s%n", "stage", "tav4j ms", "TFLOP/s", "% peak",
                "tav4j mem", "PyTorch ms", "% peak", "PyTorch mem", "PyTorch/tav4j"));
        for (String name : PipelineBench.STAGES) {
            PipelineBench.Stage s = t.stage(name);
            if (s == null) continue;
            TorchBench.Stage p = run.torch() == null ? null : run.torch().stage(name);
            if (!s.ok()) {
                b.append(String.format(Locale.ROOT, "%-20s %10s   (did not run: %s)%s%n", label(name), "-", s.error(),
                        p == null ? "" : String.format(Locale.ROOT, "  PyTorch %.1f ms", p.msPerStep())));
                continue;
            }
            b.append(String.format(Locale.ROOT, "%-20s %10.1f %8.3g %7s %15s %11s %8s %12s %14s%n", label(name), s.msPerStep(), s.tflops(),
                    percent(peakFraction(run, s)), memory(s), p == null ? "-" : String.format(Locale.ROOT, "%.1f", p.msPerStep()),
                    p == null ? "-" : percent(torchPeakFraction(run, s)),
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

    /** Achieved / peak for the stage's precision; empty where the peak is unknown (a GPU not in the table, a CPU not measured). */
    static Optional<Double> peakFraction(Run run, PipelineBench.Stage s) {
        if (!s.ok()) return Optional.empty();
        return run.peakTflops().map(p -> s.tflops() / p);
    }

    /** PyTorch's fraction of the same peak: the same FLOPs (one model, one step) in PyTorch's time. */
    static Optional<Double> torchPeakFraction(Run run, PipelineBench.Stage s) {
        TorchBench.Stage p = run.torch() == null ? null : run.torch().stage(s.name());
        if (p == null || !(p.msPerStep() > 0)) return Optional.empty();
        return run.peakTflops().map(peak -> s.gflopPerStep() / p.msPerStep() / peak);
    }

    private static String percent(Optional<Double> f) {
        return f.map(v -> String.format(Locale.ROOT, "%.1f%%", 100 * v)).orElse("unknown");
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
            if (run.cpu() != null) {
                CpuFmaPeak.Peak c = run.cpu();
                ObjectNode cpu = r.putObject("cpu");
                cpu.put("model", c.model());
                cpu.put("flags", c.flags());
                cpu.put("fp32_lanes", c.lanes());
                cpu.put("threads", c.threads());
                num(cpu, "fma_peak_gflops", c.gflopsAll());
                num(cpu, "fma_peak_gflops_one_thread", c.gflopsOne());
            }
            ObjectNode torchFraction = run.torch() != null ? r.putObject("torch_peak_fraction") : null;
            ObjectNode stages = tav.putObject("stages");
            ObjectNode ratio = r.putObject("ratio_torch_over_tav4j");
            for (PipelineBench.Stage s : t.stages()) {
                ObjectNode o = stages.putObject(s.name());
                num(o, "ms_per_step", s.msPerStep());
                num(o, "gflop_per_step", s.gflopPerStep());
                num(o, "tflops", s.ok() ? s.tflops() : Double.NaN);
                num(o, "peak_fraction", peakFraction(run, s).orElse(Double.NaN));
                if (run.torch() != null) num(torchFraction, s.name(), torchPeakFraction(run, s).orElse(Double.NaN));
                if (s.peakDeviceBytes() >= 0) o.put("peak_device_bytes", s.peakDeviceBytes()); else o.putNull("peak_device_bytes");
                if (s.peakHostBytes() >= 0) o.put("peak_host_bytes", s.peakHostBytes()); else o.putNull("peak_host_bytes");
                if (s.error() != null) o.put("error", s.error());
                if (!s.profile().isEmpty()) {
                    o.put("profiled_step_ms", s.profile().stepSeconds() * 1e3);
                    var prof = o.putArray("profile");
                    for (var e : s.profile().entries())
                        prof.addObject().put("kernel", e.name()).put("calls", e.calls()).put("ms", e.totalMillis());
                }
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
