package dev.tav4j.cli;

import dev.tav4j.bench.BenchModels;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.model.plan.NotEnoughMemoryException;
import dev.tav4j.model.tune.TrainableModules;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.HostMemory;
import dev.tav4j.runtime.Ops;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code tav plan COMMAND}: the memory a run of generate, edit, tune or bench would need, per stage, and whether it
 * fits what is free — without loading anything (only configs are read). The same plan every computing command checks
 * before it loads.
 */
@Command(name = "plan", description = "Estimate a run's peak memory per stage before running it (nothing is loaded: configs only) "
        + "and say whether it fits what is free; exit status 1 when it does not.")
final class PlanCommand implements Callable<Integer>, CliEnvironment.Aware {
    @Parameters(index = "0", paramLabel = "COMMAND", description = "generate, edit, tune, or bench (the UNet's steps as 'tav bench pipeline' runs them).")
    String command;
    @Option(names = "--model", required = true, description = "A checkpoint (diffusers folder or single-file .safetensors), or shapes: "
            + "anchor (the 37M-parameter bench UNet alone), sd15 or sd21 (UNet, VAE and text encoder from the built-in configs).")
    String model;
    @Option(names = "--config", description = "For a single-file --model: its configs (as for the other commands).") Path config;
    @Option(names = {"--tuned", "--unet"}, description = "A tuned UNet folder: its config instead of the checkpoint's UNet.") Path tuned;
    @Option(names = "--frames", defaultValue = "8", description = "Frames (default: ${DEFAULT-VALUE}).") int frames;
    @Option(names = "--height", defaultValue = "512", description = "Frame height in pixels (default: ${DEFAULT-VALUE}).") int height;
    @Option(names = "--width", defaultValue = "512", description = "Frame width in pixels (default: ${DEFAULT-VALUE}).") int width;
    @Option(names = "--latent", description = "Latent size (height = width = 8 × latent), as the benches take it.") Integer latent;
    @Option(names = "--video", description = "edit: from a video (VAE encode and DDIM inversion first), not from latents or noise.") boolean fromVideo;
    @Option(names = "--validation", defaultValue = "invert", description = "tune: the validation planned beside the steps: invert "
            + "(inversion, edit, decode: the official configs), edit (edit and decode from noise) or none (default: ${DEFAULT-VALUE}).")
    String validation;
    @Option(names = "--stages", split = ",", defaultValue = "tune,invert,edit", description = "bench: the stages (default: ${DEFAULT-VALUE}).")
    List<String> stages;
    @Option(names = "--gradient-checkpointing", defaultValue = "on", description = "tune, bench: on (recompute each block in the backward) or off (default: ${DEFAULT-VALUE}).")
    String checkpointing;
    @Option(names = "--trainable-modules", split = ",", description = "tune, bench: module name suffixes to train (default: attn1.to_q,attn2.to_q,attn_temp).")
    List<String> trainable;
    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda-emu (default: ${DEFAULT-VALUE}).") String device;
    @Option(names = "--precision", defaultValue = "fp32", description = "fp32, bf16 or fp16 (cuda only) (default: ${DEFAULT-VALUE}).") String precision;
    @Option(names = "--no-cuda-graphs", description = "Plan steps launched op by op (no blocks reserved for a captured step).") boolean noCudaGraphs;
    @Option(names = "--memory", paramLabel = "SIZE", description = "Check against SIZE free (e.g. 24g, 12000m) instead of what this machine has: "
            + "a GPU or a machine you do not have here.")
    String memory;

    private CliEnvironment env;

    @Override public void environment(CliEnvironment env) { this.env = env; }

    private CliEnvironment env() {
        if (env == null) env = CliEnvironment.read();
        return env;
    }

    @Override public Integer call() {
        DType p = BackendSettings.parsePrecision(precision);
        boolean host = device.equals("cpu");
        if (!host && !device.equals("cuda") && !device.equals(DeviceOption.EMULATION))
            throw new IllegalArgumentException("--device must be cpu, cuda or cuda-emu, got '" + device + "'");
        if (host && p != DType.F32) throw new IllegalArgumentException("--precision " + precision + " needs --device cuda: the cpu backend computes in fp32 only");
        if (!checkpointing.equals("on") && !checkpointing.equals("off"))
            throw new IllegalArgumentException("--gradient-checkpointing must be on or off, got '" + checkpointing + "'");
        Checks.shape("--frames", frames, "--height", height, "--width", width);
        if (latent != null) {
            Checks.atLeast("--latent", latent, 1);
            height = width = latent * 8;
        }
        MemoryPlan.Backend backend = host ? MemoryPlan.Backend.cpu() : MemoryPlan.Backend.cuda(p, !noCudaGraphs && env().backend().cudaGraphs());
        MemoryPlan.Models models = models();
        MemoryPlan.Workload work = workload();
        long free = memory != null ? parseSize(memory) : free(host);
        MemoryPlan plan = MemoryPlan.estimate(models, work, backend).withFree(free);
        System.out.printf(Locale.ROOT, "memory plan of tav %s on %s: %s, %d frames of %dx%d (latents %dx%d)%s%n", command, backend.describe(),
                describeModel(models), frames, width, height, height / models.vaeScale(), width / models.vaeScale(),
                work.stages().contains(MemoryPlan.Stage.TUNE) ? ", gradient checkpointing " + checkpointing : "");
        if (models.isUnetOnly() && work.stages().stream().anyMatch(s -> s == MemoryPlan.Stage.ENCODE || s == MemoryPlan.Stage.DECODE))
            System.out.println("(the UNet alone: no VAE or text encoder, so no encoding or decoding)");
        System.out.print(plan.table());
        String where = memory != null ? " (--memory)" : "";
        if (plan.fits()) {
            System.out.println(free < 0 ? "fits: unknown, " + (host ? "available" : "free device") + " memory could not be read" + where
                    : "fits: about " + fmt(plan.needBytes()) + " of " + fmt(free) + where);
            return 0;
        }
        System.out.println("does not fit" + where + ": " + plan.refusal());
        return 1;
    }

    private MemoryPlan.Models models() {
        switch (model) {
            case "anchor" -> {
                if (tuned != null) throw new IllegalArgumentException("--tuned needs a checkpoint --model, not the anchor shapes");
                return MemoryPlan.Models.unetOnly(BenchModels.cpuAnchor());
            }
            case "sd15", "sd21" -> {
                if (tuned != null) throw new IllegalArgumentException("--tuned needs a checkpoint --model, not the " + model + " shapes");
                // bench: the UNet alone, exactly as tav bench pipeline --model sd15 builds it
                if (command.equals("bench") && model.equals("sd15")) return MemoryPlan.Models.unetOnly(BenchModels.sd15());
                MemoryPlan.Models m = MemoryPlan.Models.builtin(model);
                return command.equals("bench") ? MemoryPlan.Models.unetOnly(m.unet()) : m;
            }
            default -> {
                Path path = Path.of(model);
                if (!Files.exists(path)) throw new IllegalArgumentException("--model " + model + ": no such checkpoint (or anchor, sd15, sd21 for those shapes)");
                CheckpointDir ckpt = ModelArgs.open(path, config, null);
                MemoryPlan.Models m = MemoryCheck.models(ckpt, tuned);
                return command.equals("bench") ? MemoryPlan.Models.unetOnly(m.unet()) : m;
            }
        }
    }

    private MemoryPlan.Workload workload() {
        TuneSettings settings = TuneSettings.defaults().withGradientCheckpointing(checkpointing.equals("on"));
        if (trainable != null) settings = settings.withTrainableModules(trainable);
        return switch (command) {
            case "generate" -> MemoryPlan.Workload.generate(frames, height, width);
            case "edit" -> MemoryPlan.Workload.edit(frames, height, width, fromVideo);
            case "tune" -> switch (validation) {
                case "invert" -> MemoryPlan.Workload.tune(frames, height, width, settings, true, true);
                case "edit" -> MemoryPlan.Workload.tune(frames, height, width, settings, true, false);
                case "none" -> MemoryPlan.Workload.tune(frames, height, width, settings, false, false);
                default -> throw new IllegalArgumentException("--validation must be invert, edit or none, got '" + validation + "'");
            };
            case "bench" -> MemoryPlan.Workload.bench(frames, height, width, stages.stream().map(MemoryPlan.Stage::ofKey).toList(), settings);
            default -> throw new IllegalArgumentException("COMMAND must be generate, edit, tune or bench, got '" + command + "'");
        };
    }

    private String describeModel(MemoryPlan.Models m) {
        String shapes = switch (model) {
            case "anchor" -> "the CPU anchor UNet";
            case "sd15" -> "SD 1.5 shapes";
            case "sd21" -> "SD 2.1 shapes";
            default -> model;
        };
        return shapes + (m.isUnetOnly() && !model.equals("anchor") ? " (UNet alone)" : "");
    }

    /** Available host memory, or the device's free memory as its backend reports it (-1 when there is no such device here). */
    private long free(boolean host) {
        if (host) return HostMemory.availableBytes();
        try {
            Ops ops = DeviceOption.select(device, env().backend());
            try {
                return ops.freeDeviceBytes();
            } finally {
                if (ops instanceof AutoCloseable c) c.close();
            }
        } catch (Exception | LinkageError e) {
            System.out.println("(free device memory unknown: " + Errors.describe(e) + "; --memory SIZE checks against a size you give)");
            return -1;
        }
    }

    /** "24g", "24G", "24GiB", "12000m", "1.5t" or a byte count. */
    static long parseSize(String s) {
        String t = s.strip().toLowerCase(Locale.ROOT).replaceAll("i?b$", "");
        long unit = 1;
        if (!t.isEmpty()) {
            char c = t.charAt(t.length() - 1);
            unit = switch (c) {
                case 'k' -> 1L << 10;
                case 'm' -> 1L << 20;
                case 'g' -> 1L << 30;
                case 't' -> 1L << 40;
                default -> 1;
            };
            if (unit > 1) t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t);
            if (!(v > 0) || v * unit >= Long.MAX_VALUE) throw new NumberFormatException();
            return (long) (v * unit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--memory must be a size such as 24g or 12000m, got '" + s + "'");
        }
    }

    private static String fmt(long bytes) { return HostMemory.format(bytes); }
}
