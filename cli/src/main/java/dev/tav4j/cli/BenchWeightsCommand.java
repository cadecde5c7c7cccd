package dev.tav4j.cli;

import dev.tav4j.bench.BenchModels;
import dev.tav4j.bench.WeightsExport;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.pipeline.RandomWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code tav bench weights}: the benches' random-weight UNet3D as a diffusers-layout folder both tav4j and PyTorch load. */
@Command(name = "weights", description = "Write the random-weight UNet3D the benches use as a diffusers-layout folder "
        + "(config.json + diffusion_pytorch_model.safetensors), loadable by --unet and by the PyTorch bench script.")
final class BenchWeightsCommand implements Callable<Integer> {
    /** The seed of the benches' random weights (UNetBench, TuneBench, PipelineBench). */
    static final long SEED = 1;

    @Option(names = "--model", defaultValue = "sd15", description = "anchor (37M, the CPU anchor of docs/performance.md) or sd15 (real SD 1.5 shapes, 3.4 GiB) (default: ${DEFAULT-VALUE}).")
    String model;
    @Option(names = "--out", required = true, description = "The folder to write (new, or one written by this command).")
    Path out;

    @Override public Integer call() throws Exception {
        UNetConfig cfg = BenchModels.named(model);
        long t0 = System.nanoTime();
        Path dir = WeightsExport.write(cfg, new RandomWeights("unet", SEED), out);
        long bytes = Files.size(dir.resolve(WeightsExport.WEIGHTS));
        System.out.printf(Locale.ROOT, "wrote %s: %s random weights (seed %d), %.1f MiB, in %.1f s%n", dir, model, SEED,
                bytes / (double) (1 << 20), (System.nanoTime() - t0) / 1e9);
        System.out.printf(Locale.ROOT, "{\"bench\":\"weights\",\"model\":\"%s\",\"dir\":\"%s\",\"bytes\":%d}%n", model,
                dir.toString().replace("\\", "\\\\").replace("\"", "\\\""), bytes);
        return 0;
    }
}
