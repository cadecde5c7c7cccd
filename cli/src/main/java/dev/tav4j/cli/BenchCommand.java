package dev.tav4j.cli;

import dev.tav4j.bench.BenchModels;
import dev.tav4j.bench.UNetBench;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.runtime.Ops;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code tav bench …}: the end-to-end benchmark harness (JMH covers single ops). */
@Command(name = "bench", description = "Benchmarks; the last line of each is one JSON object.", subcommands = {BenchCommand.Unet.class, BenchCommand.Tune.class, BenchPipelineCommand.class, BenchWeightsCommand.class})
final class BenchCommand implements Runnable {
    @Override public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    /** The model and sizes both benchmarks take. */
    static final class Shape {
        @Option(names = "--frames", defaultValue = "8", description = "Frames (default: ${DEFAULT-VALUE}).") int frames;
        @Option(names = "--latent", defaultValue = "32", description = "Latent size, image size / 8 (default: ${DEFAULT-VALUE}).") int latent;
        @Option(names = "--steps", defaultValue = "2", description = "Timed steps after one warm-up step (default: ${DEFAULT-VALUE}).") int steps;
        @Option(names = "--model", defaultValue = "anchor", description = "anchor (37M, the CPU anchor of docs/performance.md) or sd15 (real SD 1.5 shapes) (default: ${DEFAULT-VALUE}).") String model;

        UNetConfig config() { return BenchModels.named(model); }
    }

    @Command(name = "unet", description = "Seconds per guided denoising step (batch 2) of a UNet3D on random weights.")
    static final class Unet implements Callable<Integer> {
        @Mixin Shape shape;
        @Option(names = "--profile", description = "After the timed steps, one more step with the time per kernel: device time per CUDA kernel, or wall time per op on the cpu.") boolean profile;
        @Mixin CudaGraphsOption cudaGraphs;
        @Mixin DeviceOption device;

        @Override public Integer call() {
            boolean graphs = cudaGraphs.on(device);
            Ops ops = device.open();
            if (profile && ops.computesOnHost()) ops = dev.tav4j.bench.HostOpTiming.wrap(ops);
            int frames = shape.frames, latent = shape.latent;
            MemoryCheck.before(ops, dev.tav4j.model.plan.MemoryPlan.Models.unetOnly(shape.config()), dev.tav4j.model.plan.MemoryPlan.Workload.bench(
                    frames, latent, java.util.List.of(dev.tav4j.model.plan.MemoryPlan.Stage.EDIT), null));
            UNetBench.Result r = UNetBench.run(ops, shape.config(), frames, latent, shape.steps, profile, graphs, System.out);
            if (profile) System.out.print(r.profile().table());
            System.out.printf(java.util.Locale.ROOT, "%.3f s per guided step (batch 2, %d frames, %d×%d latents, %s), %.1f TFLOP/s%s; official PyTorch CPU reference: 5.8 s%n",
                    r.secondsPerStep(), frames, latent, latent, r.precision(), r.gflops() / 1e3,
                    r.peakDeviceBytes() < 0 ? "" : String.format(java.util.Locale.ROOT, ", peak device memory %.2f GiB", r.peakDeviceBytes() / (double) (1L << 30)));
            System.out.println(UNetBench.json(r));
            return 0;
        }
    }

    @Command(name = "tune", description = "Seconds per tuning step of a UNet3D on random weights, with gradient checkpointing per block or without, and peak memory.")
    static final class Tune implements Callable<Integer> {
        @Mixin Shape shape;
        @Option(names = "--no-checkpointing", description = "Keep every intermediate instead of recomputing each block in the backward.") boolean noCheckpointing;
        @Option(names = "--profile", description = "After the timed steps, one more step (eager) with the time per kernel (forward, backward, clipping, AdamW): device time per CUDA kernel, or wall time per op on the cpu.") boolean profile;
        @Mixin CudaGraphsOption cudaGraphs;
        @Mixin DeviceOption device;

        @Override public Integer call() {
            boolean graphs = cudaGraphs.on(device);
            Ops ops = device.open();
            if (profile && ops.computesOnHost()) ops = dev.tav4j.bench.HostOpTiming.wrap(ops);
            int frames = shape.frames, latent = shape.latent;
            MemoryCheck.before(ops, dev.tav4j.model.plan.MemoryPlan.Models.unetOnly(shape.config()), dev.tav4j.model.plan.MemoryPlan.Workload.bench(
                    frames, latent, java.util.List.of(dev.tav4j.model.plan.MemoryPlan.Stage.TUNE),
                    dev.tav4j.model.tune.TuneSettings.defaults().withGradientCheckpointing(!noCheckpointing)));
            dev.tav4j.bench.TuneBench.Result r = dev.tav4j.bench.TuneBench.run(ops, shape.config(), frames, latent, shape.steps, !noCheckpointing,
                    graphs, profile, System.out);
            if (profile) System.out.print(r.profile().table());
            System.out.printf(java.util.Locale.ROOT, "%.3f s per tuning step (%d frames, %d×%d latents, gradient checkpointing %s), peak %s memory %.2f GiB; official PyTorch CPU reference: 10.3 s%n",
                    r.secondsPerStep(), frames, latent, latent, r.checkpointing() ? "on" : "off",
                    r.peakDeviceBytes() < 0 ? "host tensor" : "device", (r.peakDeviceBytes() < 0 ? r.peakHostBytes() : r.peakDeviceBytes()) / (double) (1L << 30));
            System.out.println(dev.tav4j.bench.TuneBench.json(r));
            return 0;
        }
    }
}
