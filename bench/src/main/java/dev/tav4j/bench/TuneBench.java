package dev.tav4j.bench;

import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.tune.Tuner;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.KernelTiming;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.StepLoop;
import dev.tav4j.runtime.Tensor;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Times one-shot tuning steps ({@link Tuner#step}: add_noise, forward with the activations the backward needs,
 * backward into the trainable parameters, clipping, AdamW) of a UNet3D on random weights, on any backend. The
 * official figure docs/performance.md compares with: 10.3 s per step on PyTorch CPU (2 threads) for the CPU anchor model.
 * One warm-up step first (JIT, device memory, kernel loading); the timed steps end with a synchronize.
 */
public final class TuneBench {
    /**
     * @param peakHostBytes   peak host tensor memory during the timed steps (the CPU backend's activations)
     * @param peakDeviceBytes peak device memory during the timed steps (-1 on the cpu backend)
     */
    public record Result(String backend, int frames, int latent, int steps, double secondsPerStep, double params,
                         long trainableParams, float lastLoss, boolean checkpointing, long peakHostBytes, long peakDeviceBytes,
                         boolean cudaGraphs, StepProfile profile) {}

    private TuneBench() {}

    public static Result run(Ops ops, UNetConfig cfg, int frames, int latent, int timedSteps, PrintStream log) {
        return run(ops, cfg, frames, latent, timedSteps, true, log);
    }

    public static Result run(Ops ops, UNetConfig cfg, int frames, int latent, int timedSteps, boolean checkpointing, PrintStream log) {
        return run(ops, cfg, frames, latent, timedSteps, checkpointing, StepLoop.graphsByDefault(), false, log);
    }

    /**
     * With {@code checkpointing} each block recomputes its inside in the backward; without, every intermediate is kept.
     * {@code graphs} (cuda): the untimed warm-up runs step 1 eagerly and captures step 2 (or a later one, when the
     * capture needed another eager step to warm the memory pool); the timed steps replay it.
     * {@code profile} (cuda): one more step after the timed ones, run eagerly under the kernel profiler (forward,
     * backward, clipping and AdamW kernels, GEMMs and copies).
     */
    public static Result run(Ops ops, UNetConfig cfg, int frames, int latent, int timedSteps, boolean checkpointing,
                             boolean graphs, boolean profile, PrintStream log) {
        KernelTiming timing = StepProfile.timing(ops, profile);
        long t0 = System.nanoTime();
        try (UNet3D unet = new UNet3D(ops, cfg, new RandomWeights("unet", 1));
             Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()),
                     TuneSettings.defaults().withGradientCheckpointing(checkpointing)).cudaGraphs(graphs)) {
            double params = unet.params().all().values().stream().mapToLong(p -> p.value().size()).sum();
            long trainable = tuner.trainable().values().stream().mapToLong(p -> p.value().size()).sum();
            log.printf(Locale.ROOT, "model: %.1fM parameters (%.1fM trainable), ready in %.1f s; backend %s, %d threads%n",
                    params / 1e6, trainable / 1e6, (System.nanoTime() - t0) / 1e9, ops.name(), Parallel.THREADS);
            Gaussian g = new Gaussian(11);
            try (Tensor lat = g.tensor(frames, latent, latent, cfg.inChannels());
                 Tensor eps = g.tensor(frames, latent, latent, cfg.inChannels());
                 Tensor txt = g.tensor(1, 77, cfg.crossAttentionDim());
                 Tensor x = ops.upload(lat); Tensor e = ops.upload(eps); Tensor text = ops.upload(txt)) {
                long w = System.nanoTime();
                Tuner.StepResult r = tuner.step(x, e, frames, new int[] {g.nextInt(1000)}, text);
                ops.synchronize();
                log.printf(Locale.ROOT, "warm-up step: %.3f s, loss %.5f, grad norm %.4g%n", (System.nanoTime() - w) / 1e9, r.loss(), r.gradNorm());
                if (graphs && ops.capturesSteps()) {
                    // untimed: until a step is captured (a capture lacking a cached block is retried after an eager step)
                    for (int step = 2; step <= 5 && !tuner.stepCaptured() && tuner.captureFallbackReason() == null; step++) {
                        w = System.nanoTime();
                        tuner.step(x, e, frames, new int[] {g.nextInt(1000)}, text);
                        ops.synchronize();
                        log.printf(Locale.ROOT, "cuda graphs: on, step %d %s in %.3f s%n", step, tuner.stepCaptured() ? "captured (replayed from now on)"
                                : tuner.captureFallbackReason() != null ? "refused (" + tuner.captureFallbackReason() + "), run eagerly"
                                : "run eagerly to warm the memory pool (capture retried at the next step)", (System.nanoTime() - w) / 1e9);
                    }
                } else if (ops.capturesSteps()) log.println("cuda graphs: off");
                dev.tav4j.runtime.HostMemoryPool.GLOBAL.resetPeak();
                ops.resetPeakDeviceBytes();
                long start = System.nanoTime();
                for (int s = 0; s < timedSteps; s++) r = tuner.step(x, e, frames, new int[] {g.nextInt(1000)}, text);
                ops.synchronize();
                double sec = (System.nanoTime() - start) / 1e9 / timedSteps;
                long peakHost = dev.tav4j.runtime.HostMemoryPool.GLOBAL.peakLiveBytes(), peakDevice = ops.peakDeviceBytes();
                boolean captured = tuner.stepCaptured();
                Tuner.StepResult last = r;
                StepProfile prof = StepProfile.NONE;
                if (profile) {
                    tuner.cudaGraphs(false);  // events per kernel: never a graph
                    prof = StepProfile.of(timing, () -> {
                        tuner.step(x, e, frames, new int[] {g.nextInt(1000)}, text);
                        ops.synchronize();
                    });
                }
                return new Result(ops.name(), frames, latent, timedSteps, sec, params, trainable, last.loss(), checkpointing,
                        peakHost, peakDevice, captured, prof);
            }
        }
    }

    public static String json(Result r) {
        return String.format(Locale.ROOT,
                "{\"bench\":\"tune\",\"backend\":\"%s\",\"frames\":%d,\"latent\":%d,\"timed_steps\":%d,"
                        + "\"seconds_per_step\":%.4f,\"params_millions\":%.2f,\"trainable_millions\":%.2f,\"last_loss\":%.5f,"
                        + "\"gradient_checkpointing\":%b,\"peak_host_bytes\":%d,\"peak_device_bytes\":%d,\"cuda_graphs\":%b%s}",
                r.backend(), r.frames(), r.latent(), r.steps(), r.secondsPerStep(), r.params() / 1e6,
                r.trainableParams() / 1e6, r.lastLoss(), r.checkpointing(), r.peakHostBytes(), r.peakDeviceBytes(), r.cudaGraphs(),
                r.profile().jsonMembers());
    }

    /** {@code TuneBench [backend=auto] [model=sd15|anchor] [frames=8] [latent=64] [steps=3]}: prints the result as JSON. */
    public static void main(String[] args) {
        String backend = args.length > 0 ? args[0] : "auto";
        UNetConfig cfg = args.length > 1 && args[1].equals("anchor") ? BenchModels.cpuAnchor() : BenchModels.sd15();
        int frames = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        int latent = args.length > 3 ? Integer.parseInt(args[3]) : 64;
        int steps = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        // an entry point: the documented switches (-Dtav.cuda.precision, -Dtav.cuda.graphs, …) from this JVM
        Ops ops = Backends.select(backend, BackendSettings.fromSystem(System::getProperty, System::getenv));
        System.out.println(json(run(ops, cfg, frames, latent, steps, System.out)));
    }
}
