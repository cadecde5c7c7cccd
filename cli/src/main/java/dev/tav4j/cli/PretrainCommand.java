package dev.tav4j.cli;

import dev.tav4j.model.pretrain.Pretrain;
import dev.tav4j.model.pretrain.PretrainConfig;
import dev.tav4j.runtime.Ops;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code tav pretrain}: trains a small Stable Diffusion from scratch on the procedural world (docs/pretrain.md) and
 * writes it as a diffusers folder the other commands take as {@code --model}.
 */
@Command(name = "pretrain", description = {
        "Train a small Stable Diffusion from scratch on the procedural world (docs/pretrain.md): a KL VAE on its stills, then an "
                + "SD-topology UNet3D on its captioned videos (epsilon-prediction), every parameter on the engine's tape; the text "
                + "encoder is CLIP's architecture on CLIP's real BPE vocabulary, random and frozen.",
        "Writes OUT as a diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/) for --model, plus "
                + "OUT/checkpoints/ (resumable), OUT/logs/<stage>.csv (every step's loss) and OUT/pretrain.json (what made it).",
        "The same --seed gives the same model on the same backend; the default sizes take about two hours on two CPU cores."})
final class PretrainCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (new or empty, or one this command made: see --resume).") Path out;
    @Option(names = "--stage", defaultValue = "all", description = "vae, unet (needs the VAE in --out) or all (default: ${DEFAULT-VALUE}).") String stage;
    @Option(names = "--steps", description = "Steps of each stage run (default: the preset's, 2500 VAE and 7000 UNet steps for full).") Integer steps;
    @Option(names = "--seed", defaultValue = "0", description = "Seed of the initial weights, the data and every random draw (default: ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--resume", description = "Continue from the newest checkpoint of each stage in --out (the same seed and sizes).") boolean resume;
    @Option(names = "--preset", defaultValue = "full", description = "Model sizes: full (about two hours on two CPU cores) or tiny (test scale: 32×32, a minute) (default: ${DEFAULT-VALUE}).")
    String preset;
    @Option(names = "--config", paramLabel = "FILE", description = "Model sizes and schedules from a JSON object (the \"config\" of a pretrain.json) instead of --preset.")
    Path config;
    @Option(names = "--checkpoint-every", description = "Steps between resumable checkpoints (default: the preset's, 250 for full).") Integer checkpointEvery;
    @Option(names = "--save-precision", defaultValue = "fp32", description = "How the folder's weights are stored: fp32, or fp16/bf16 "
            + "for a folder half the size (checkpoints stay fp32) (default: ${DEFAULT-VALUE}).") String savePrecision;
    @Mixin DeviceOption device;

    @Override public Integer call() {
        Pretrain.Stage st = switch (stage.toLowerCase(Locale.ROOT)) {
            case "vae" -> Pretrain.Stage.VAE;
            case "unet" -> Pretrain.Stage.UNET;
            case "all" -> Pretrain.Stage.ALL;
            default -> throw new IllegalArgumentException("--stage must be vae, unet or all, got '" + stage + "'");
        };
        PretrainConfig cfg = switch (preset.toLowerCase(Locale.ROOT)) {
            case "full" -> PretrainConfig.defaults();
            case "tiny" -> PretrainConfig.tiny();
            default -> throw new IllegalArgumentException("--preset must be full or tiny, got '" + preset + "'");
        };
        if (config != null) {
            com.fasterxml.jackson.databind.JsonNode n = dev.tav4j.model.config.Json.read(config);
            cfg = PretrainConfig.fromJson(n.has("config") ? n.get("config") : n);
            cfg.check();
        }
        dev.tav4j.runtime.DType saved = switch (savePrecision.toLowerCase(Locale.ROOT)) {
            case "fp32" -> dev.tav4j.runtime.DType.F32;
            case "fp16" -> dev.tav4j.runtime.DType.F16;
            case "bf16" -> dev.tav4j.runtime.DType.BF16;
            default -> throw new IllegalArgumentException("--save-precision must be fp32, fp16 or bf16, got '" + savePrecision + "'");
        };
        if (steps != null) cfg = cfg.withSteps(Checks.atLeast("--steps", steps, 1), steps);
        if (checkpointEvery != null) cfg = cfg.withCheckpointEvery(Checks.atLeast("--checkpoint-every", checkpointEvery, 1));
        String command = "tav pretrain --out " + out + " --stage " + stage + (steps != null ? " --steps " + steps : "") + " --seed " + seed
                + (config != null ? " --config " + config : " --preset " + preset) + (resume ? " --resume" : "") + " --save-precision " + savePrecision + " --device " + device;
        Pretrain.Options options = new Pretrain.Options(out, st, cfg, seed, resume, !device.noCudaGraphs, command, saved);
        Pretrain.preflight(options);  // a wrong folder is one line before a device is opened
        Ops ops = device.open();
        ConsoleProgress progress = new ConsoleProgress();
        long t0 = System.nanoTime();
        List<Pretrain.StageResult> results = new ArrayList<>();
        try (CtrlC ignored = new CtrlC(progress, device.env().cancelWaitSeconds())) {
            results.addAll(new Pretrain(ops, options, progress, System.err::println).run());
        } catch (CancellationException e) {
            System.err.println("tav: " + e.getMessage());
            return 130;
        }
        for (Pretrain.StageResult r : results) {
            if (r.fromStep() == r.toStep())
                System.out.printf(Locale.ROOT, "%s: %,d parameters, already trained to step %d (folder and samples written again)%n",
                        r.stage(), r.parameters(), r.toStep());
            else System.out.printf(Locale.ROOT, "%s: %,d parameters, steps %d→%d, loss %.4f (first tenth) → %.4f (last tenth), %.2f s/step%n",
                    r.stage(), r.parameters(), r.fromStep(), r.toStep(), r.firstLoss(), r.lastLoss(), r.secondsPerStep());
            if (r.samples() != null) System.out.println("  samples: " + r.samples());
        }
        System.out.printf(Locale.ROOT, "wrote %s in %s; try: tav generate --model %s --prompt \"a red circle is moving right on a blue background\" "
                + "--height %d --width %d --frames %d --seed 1 --out out.gif%n", out, ConsoleProgress.duration((System.nanoTime() - t0) / 1e9),
                out, cfg.size(), cfg.size(), cfg.frames());
        return 0;
    }

    /** While open, Ctrl-C (SIGINT/SIGTERM) stops the run after the current step, with a checkpoint to resume from. */
    private static final class CtrlC implements AutoCloseable {
        private final CountDownLatch done = new CountDownLatch(1);
        private final Thread hook;

        CtrlC(ConsoleProgress progress, long waitSeconds) {
            hook = new Thread(() -> {
                System.err.println("\ntav: stopping after the current step (a checkpoint is written; continue with --resume)…");
                progress.cancel();
                try {
                    done.await(waitSeconds, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "tav-cancel");
            Runtime.getRuntime().addShutdownHook(hook);
        }

        @Override public void close() {
            done.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it returns now that the run has stopped
            }
        }
    }
}
