package dev.tav4j.bench;

import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.pipeline.Ddim;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.sched.DdimScheduler;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.HostMemoryPool;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Times guided denoising steps (batch 2: unconditional + conditional) of a UNet3D on random weights: the
 * figure DESIGN.md compares with the official code (5.8 s per step on PyTorch CPU, 2 threads).
 */
public final class UNetBench {
    public record Result(String backend, int frames, int latent, int steps, double secondsPerStep, double params,
                         double gflopPerStep, long peakHostBytes) {}

    private UNetBench() {}

    public static Result run(Ops ops, UNetConfig cfg, int frames, int latent, int timedSteps, PrintStream log) {
        long t0 = System.nanoTime();
        try (UNet3D unet = new UNet3D(ops, cfg, new RandomWeights("unet", 1))) {
            double params = unet.params().all().values().stream().mapToLong(p -> p.value().size()).sum();
            log.printf(Locale.ROOT, "model: %.1fM parameters, loaded in %.1f s; backend %s, %d threads%n",
                    params / 1e6, (System.nanoTime() - t0) / 1e9, ops.name(), Parallel.THREADS);
            Gaussian g = new Gaussian(7);
            try (Tensor lat = g.tensor(frames, latent, latent, cfg.inChannels());
                 Tensor txt = g.tensor(1, 77, cfg.crossAttentionDim());
                 Tensor x = ops.upload(lat); Tensor text = ops.upload(txt)) {
                DdimScheduler sched = new DdimScheduler(SchedulerConfig.defaults(), 50);
                // one warm-up step (JIT, memory pool), then the timed steps in one guided sampling loop
                oneStep(unet, sched, x, frames, text, 1);
                HostMemoryPool.GLOBAL.resetPeak();
                long start = System.nanoTime();
                oneStep(unet, sched, x, frames, text, timedSteps);
                double sec = (System.nanoTime() - start) / 1e9 / timedSteps;
                double gflop = FlopCount.unetForward(cfg, 2 * frames, latent) / 1e9;
                return new Result(ops.name(), frames, latent, timedSteps, sec, params, gflop, HostMemoryPool.GLOBAL.peakLiveBytes());
            }
        }
    }

    private static void oneStep(UNet3D unet, DdimScheduler sched, Tensor x, int frames, Tensor text, int steps) {
        DdimScheduler s = new DdimScheduler(SchedulerConfig.defaults(), steps);
        try (Tensor out = Ddim.sample(unet, s, x, frames, text, text, 7.5f, Progress.NONE)) {
            out.size();
        }
    }

    public static String json(Result r) {
        return String.format(Locale.ROOT,
                "{\"bench\":\"unet\",\"backend\":\"%s\",\"frames\":%d,\"latent\":%d,\"batch\":2,\"timed_steps\":%d,"
                        + "\"seconds_per_step\":%.4f,\"params_millions\":%.2f,\"gflop_per_step\":%.1f,\"gflops\":%.1f,\"peak_host_bytes\":%d}",
                r.backend(), r.frames(), r.latent(), r.steps(), r.secondsPerStep(), r.params() / 1e6, r.gflopPerStep(),
                r.gflopPerStep() / r.secondsPerStep(), r.peakHostBytes());
    }
}
