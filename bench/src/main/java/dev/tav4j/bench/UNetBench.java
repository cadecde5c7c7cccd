package dev.tav4j.bench;

import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.pipeline.Ddim;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.sched.DdimScheduler;
import dev.tav4j.runtime.StepLoop;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.KernelTiming;
import dev.tav4j.runtime.HostMemoryPool;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Times guided denoising steps (batch 2: unconditional + conditional) of a UNet3D on random weights: the
 * figure docs/performance.md compares with the official code (5.8 s per step on PyTorch CPU, 2 threads). On the cuda
 * backend it also reports the peak device memory of the timed steps (weights included) and, when asked, one
 * more step under the kernel profiler (device time per kernel; the timed steps run with profiling off).
 */
public final class UNetBench {
    /**
     * @param peakDeviceBytes  peak device memory in use during the timed steps (-1 on the cpu backend)
     * @param profile          per-kernel figures of one profiled step ({@link StepProfile#NONE} when not profiled)
     */
    public record Result(String backend, int frames, int latent, int steps, double secondsPerStep, double params,
                         double gflopPerStep, long peakHostBytes, String precision, long peakDeviceBytes,
                         StepProfile profile) {
        public double gflops() { return gflopPerStep / secondsPerStep; }
    }

    private UNetBench() {}

    public static Result run(Ops ops, UNetConfig cfg, int frames, int latent, int timedSteps, PrintStream log) {
        return run(ops, cfg, frames, latent, timedSteps, false, log);
    }

    /** As {@link #run(Ops, UNetConfig, int, int, int, PrintStream)}; {@code profile} adds one profiled step (cuda, or a host backend wrapped by {@link HostOpTiming}). */
    public static Result run(Ops ops, UNetConfig cfg, int frames, int latent, int timedSteps, boolean profile, PrintStream log) {
        return run(ops, cfg, frames, latent, timedSteps, profile, StepLoop.graphsByDefault(), log);
    }

    /**
     * {@code graphs}: the timed loop captures its second step as a CUDA graph and replays it for the rest (cuda
     * only; the capture itself is inside the timing, so time ≥ 10 steps to see the replay rate).
     */
    public static Result run(Ops ops, UNetConfig cfg, int frames, int latent, int timedSteps, boolean profile, boolean graphs,
                             PrintStream log) {
        KernelTiming timing = StepProfile.timing(ops, profile);
        String precision = precisionName(ops.precision());
        long t0 = System.nanoTime();
        try (UNet3D unet = new UNet3D(ops, cfg, new RandomWeights("unet", 1))) {
            double params = unet.params().all().values().stream().mapToLong(p -> p.value().size()).sum();
            log.printf(Locale.ROOT, "model: %.1fM parameters, loaded in %.1f s; backend %s (%s), %d threads%n",
                    params / 1e6, (System.nanoTime() - t0) / 1e9, ops.name(), precision, Parallel.THREADS);
            if (ops.capturesSteps()) log.println("cuda graphs: " + (graphs ? "on (step 1 eager, step 2 captured, then replayed)" : "off"));
            Gaussian g = new Gaussian(7);
            try (Tensor lat = g.tensor(frames, latent, latent, cfg.inChannels());
                 Tensor txt = g.tensor(1, 77, cfg.crossAttentionDim());
                 Tensor x = ops.upload(lat); Tensor text = ops.upload(txt)) {
                // one warm-up step (JIT, memory pool), then the timed steps in one guided sampling loop
                oneStep(unet, x, frames, text, 1, graphs);
                ops.synchronize();
                HostMemoryPool.GLOBAL.resetPeak();
                ops.resetPeakDeviceBytes();
                long start = System.nanoTime();
                oneStep(unet, x, frames, text, timedSteps, graphs);
                ops.synchronize();
                double sec = (System.nanoTime() - start) / 1e9 / timedSteps;
                long peakDevice = ops.peakDeviceBytes();
                long peakHost = HostMemoryPool.GLOBAL.peakLiveBytes();
                StepProfile prof = !profile ? StepProfile.NONE : StepProfile.of(timing, () -> {
                    oneStep(unet, x, frames, text, 1, false);  // events per kernel: never a graph
                    ops.synchronize();
                });
                double gflop = FlopCount.unetForward(cfg, 2 * frames, latent) / 1e9;
                return new Result(ops.name(), frames, latent, timedSteps, sec, params, gflop, peakHost, precision,
                        peakDevice, prof);
            }
        }
    }

    private static void oneStep(UNet3D unet, Tensor x, int frames, Tensor text, int steps, boolean graphs) {
        DdimScheduler s = new DdimScheduler(SchedulerConfig.defaults(), steps);
        try (Tensor out = Ddim.sample(unet, s, x, frames, text, text, 7.5f, Progress.NONE, graphs)) {
            out.size();
        }
    }

    static String precisionName(DType t) {
        return BackendSettings.precisionName(t);
    }

    public static String json(Result r) {
        return String.format(Locale.ROOT,
                "{\"bench\":\"unet\",\"backend\":\"%s\",\"precision\":\"%s\",\"frames\":%d,\"latent\":%d,\"batch\":2,\"timed_steps\":%d,"
                        + "\"seconds_per_step\":%.4f,\"params_millions\":%.2f,\"gflop_per_step\":%.1f,\"gflops\":%.1f,\"peak_host_bytes\":%d,"
                        + "\"peak_device_bytes\":%s%s}",
                r.backend(), r.precision(), r.frames(), r.latent(), r.steps(), r.secondsPerStep(), r.params() / 1e6, r.gflopPerStep(),
                r.gflops(), r.peakHostBytes(), r.peakDeviceBytes() < 0 ? "null" : Long.toString(r.peakDeviceBytes()), r.profile().jsonMembers());
    }
}
