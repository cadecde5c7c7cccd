package dev.tav4j.cli;

import dev.tav4j.bench.BenchModels;
import dev.tav4j.bench.PipelineBench;
import dev.tav4j.bench.SideBySide;
import dev.tav4j.bench.TorchBench;
import dev.tav4j.bench.TorchScripts;
import dev.tav4j.bench.WeightsExport;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.model.tune.TuneCheckpoint;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code tav bench pipeline}: ms per tuning, inversion and guided editing step for each frame count, achieved
 * TFLOP/s against the device's peak, peak memory and the projected man-skiing run; with {@code --torch PYTHON} the
 * same work in PyTorch (bench/pytorch/tav_torch_bench.py, on the same weights file) side by side.
 */
@Command(name = "pipeline", description = "Per stage (tuning, inversion, guided editing step): ms per step, TFLOP/s, "
        + "fraction of the device's peak, peak memory, and the projected official man-skiing run; --torch adds PyTorch side by side.")
final class BenchPipelineCommand implements Callable<Integer> {
    @Option(names = "--frames", split = ",", defaultValue = "8,24", description = "Frame counts, comma-separated (default: ${DEFAULT-VALUE}).")
    List<Integer> frames;
    @Option(names = "--latent", defaultValue = "64", description = "Latent size, image size / 8 (default: ${DEFAULT-VALUE}, i.e. 512×512).")
    int latent;
    @Option(names = "--steps", defaultValue = "3", description = "Timed steps per stage after the warm-up (default: ${DEFAULT-VALUE}).")
    int steps;
    @Option(names = "--warmup", defaultValue = "2", description = "Warm-up steps per stage; on cuda a stage's figure is (time of warm-up + timed steps − time of the warm-up steps) / timed steps after an untimed run, and 2 covers a DDIM run's eager step and its CUDA graph capture (default: ${DEFAULT-VALUE}).")
    int warmup;
    @Option(names = "--model", description = "anchor or sd15 random weights (default sd15); ignored when --unet names an existing folder.")
    String model;
    @Option(names = "--unet", description = "UNet folder (config.json + diffusion_pytorch_model.safetensors) both sides load; "
            + "written with the --model's random weights first when it does not exist.")
    Path unet;
    @Option(names = "--torch", paramLabel = "PYTHON", description = "Python interpreter with PyTorch: run the same stages in PyTorch and compare.")
    String python;
    @Option(names = "--torch-script", description = "The PyTorch bench script (default: bench/pytorch/tav_torch_bench.py, or the copy in the jar).")
    Path torchScript;
    @Option(names = "--torch-threads", description = "CPU threads of the PyTorch side (default: tav4j's thread count on the cpu backend).")
    Integer torchThreads;
    @Option(names = "--stages", split = ",", defaultValue = "tune,invert,edit", description = "Stages to run (default: ${DEFAULT-VALUE}).")
    List<String> stages;
    @Option(names = "--profile", description = "After each stage's timed steps, one more step with the time per kernel: device time per CUDA kernel, or wall time per op on the cpu.")
    boolean profile;
    @Option(names = "--json", description = "Also write the JSON result to this file.")
    Path json;
    @Mixin DeviceOption device;

    @Override public Integer call() throws Exception {
        for (int f : frames) new PipelineBench.Spec(f, latent, steps, warmup, stages, profile); // bad values fail before anything runs
        if (python != null) System.err.println("PyTorch " + TorchBench.probe(python) + " found by " + python);
        Ops opened = device.open();
        Ops ops = profile && opened.computesOnHost() ? dev.tav4j.bench.HostOpTiming.wrap(opened) : opened;
        Path temp = null;
        try {
            Path folder = unet;
            String name;
            UNetConfig cfg;
            if (unet != null && Files.exists(unet)) {
                folder = CheckpointDir.unetFolderPath(unet); // DIR or DIR/unet holding config.json; else a clear error
                if (model != null) System.err.println("note: --model " + model + " ignored: " + folder + " has its own config.json");
                cfg = CheckpointDir.unetFolderConfig(folder);
                name = "UNet of " + folder;
            } else {
                String m = model == null ? "sd15" : model;
                cfg = BenchModels.named(m);
                name = m.equals("sd15") ? "SD 1.5 shapes" : "CPU anchor";
                if (unet == null && python != null) {
                    temp = Files.createTempDirectory("tav-bench-unet");
                    folder = temp.resolve("unet");
                }
                if (folder != null) {
                    System.err.println("writing the " + m + " random weights to " + folder + " …");
                    WeightsExport.write(cfg, new RandomWeights("unet", BenchWeightsCommand.SEED), folder);
                }
            }
            MemoryCheck.before(ops, MemoryPlan.Models.unetOnly(cfg), MemoryPlan.Workload.bench(java.util.Collections.max(frames), latent,
                    stages.stream().map(MemoryPlan.Stage::ofKey).toList(), TuneSettings.defaults()));
            // PyTorch first, each run a process of its own, so it finds the device as tav4j has not touched it yet
            Map<Integer, TorchBench.Result> torch = new LinkedHashMap<>();
            if (python != null) {
                Path script = torchScript != null ? torchScript : TorchScripts.locate(TorchScripts.BENCH);
                int threads = torchThreads != null ? torchThreads : ops.computesOnHost() ? Parallel.THREADS : 0;
                for (int f : frames)
                    torch.put(f, TorchBench.run(python, script, new TorchBench.Spec(folder, f, latent, steps, warmup,
                            DeviceOption.precisionOf(ops), ops.computesOnHost() ? "cpu" : "cuda", threads, stages), System.err));
            }
            // the yardstick of the CPU's "% peak": measured here, after PyTorch and before tav4j, on the threads both use
            boolean host = ops.computesOnHost(), vector = dev.tav4j.kernels.cpu.CpuOps.vectorApiPresent();
            dev.tav4j.kernels.cpu.CpuFmaPeak.Peak cpu = host && vector ? dev.tav4j.kernels.cpu.CpuFmaPeak.measure(Parallel.THREADS, 300) : null;
            if (cpu != null) System.err.println("CPU: " + cpu.describe());
            else if (host) System.err.println("CPU: FMA peak not measured (it needs jdk.incubator.vector); % peak is unknown");
            List<SideBySide.Run> runs = new ArrayList<>();
            for (int f : frames) {
                try (Weights w = folder != null ? CheckpointDir.unetFolder(folder) : new RandomWeights("unet", BenchWeightsCommand.SEED)) {
                    PipelineBench.Result r = PipelineBench.run(ops, cfg, w, new PipelineBench.Spec(f, latent, steps, warmup, stages, profile), System.err);
                    SideBySide.Run run = new SideBySide.Run(r, torch.get(f), cpu);
                    runs.add(run);
                    System.out.print(SideBySide.table(name, run));
                    System.out.println();
                    for (PipelineBench.Stage s : r.stages())
                        if (!s.profile().isEmpty()) System.out.print(s.name() + ", " + s.profile().table() + "\n");
                }
            }
            String out = SideBySide.json(name, runs);
            if (json != null) write(json, out);
            System.out.println(out);
            return 0;
        } finally {
            if (temp != null) TuneCheckpoint.deleteRecursively(temp);
        }
    }

    private static void write(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".part");
        try {
            Files.writeString(tmp, text + "\n");
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
