package dev.tav4j.cli;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.LoraFile;
import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.pipeline.VideoLayout;
import dev.tav4j.model.video.Frames;
import dev.tav4j.model.video.GifWriter;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code tav generate}: text-to-video with a (tuned) UNet3D, guided DDIM from noise or from given latents. */
@Command(name = "generate", description = "Generate a video from a prompt with a checkpoint and an optional tuned UNet; writes an animated GIF.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", description = "Diffusers checkpoint folder (model_index.json, unet/, vae/, …), or a single-file checkpoint (.safetensors, original LDM layout) (default: the shipped world model, models/world-sd).")
    Path model;
    @Option(names = "--config", description = "For a single-file --model: a folder of diffusers configs (unet/, vae/, text_encoder/, scheduler/, optionally tokenizer/) or the LDM YAML (v1-inference.yaml, ...); default: SD 1.x / 2.x recognised from the tensors.")
    Path config;
    @Option(names = "--prediction-type", description = "For a single-file --model: epsilon or v (default: the config's).")
    String predictionType;
    @Option(names = "--unet", description = "Tuned UNet3D folder as Tune-A-Video saves it (default: the checkpoint's UNet, inflated).")
    Path unet;
    @Option(names = "--lora", paramLabel = "FILE[:SCALE]", description = "A LoRA file (kohya or diffusers/PEFT safetensors) merged into the text encoder and UNet at load, times SCALE (default 1); repeatable.") List<String> loraSpecs = new ArrayList<>();
    @Option(names = "--prompt", required = true, description = "The text to generate a video of.") String prompt;
    @Option(names = "--frames", defaultValue = "8", description = "Frames (default: ${DEFAULT-VALUE}).") int frames;
    @Option(names = "--height", description = "Frame height, a multiple of 8 (default: 512; the shipped world model's 64 without --model).") Integer height;
    @Option(names = "--width", description = "Frame width, a multiple of 8 (default: 512; the shipped world model's 64 without --model).") Integer width;
    @Option(names = "--steps", defaultValue = "50", description = "Guided DDIM steps (default: ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--guidance", defaultValue = "12.5", description = "Guidance scale (default: ${DEFAULT-VALUE}).") float guidance;
    @Option(names = "--out", required = true, description = "Output .gif") Path out;
    @Option(names = "--fps", defaultValue = "8", description = "Frame rate of the GIF (default: ${DEFAULT-VALUE}).") int fps;
    @Mixin DeviceOption device;

    @ArgGroup(exclusive = true, multiplicity = "1") Start start;

    static final class Start {
        @Option(names = "--seed", description = "Seed of the initial noise (tav4j's own generator, not torch's).") Long seed;
        @Option(names = "--latents", description = "safetensors file with the initial latents (1, 4, frames, height/8, width/8).") Path latents;
    }

    @Override public Integer call() throws Exception {
        int[] size = WorldModel.defaults(p -> model = p, model, height, width);
        height = size[0];
        width = size[1];
        Checks.shape("--frames", frames, "--height", height, "--width", width);
        CheckpointDir ckpt = ModelArgs.open(model, config, predictionType);
        Checks.ddimSteps("--steps", steps, ckpt);
        Checks.finite("--guidance", guidance);
        Checks.atLeast("--fps", fps, 1);
        if (!out.getFileName().toString().toLowerCase().endsWith(".gif"))
            throw new IllegalArgumentException("--out must end in .gif: " + out);
        Checks.outputFile("--out", out);
        // a wrong file, or latents of another size, fail here (header and configs only), not after loading
        if (start.latents != null) requireLatentsShape(start.latents, latentsShape(ckpt, unet, frames, height, width));
        Ops ops = device.open();
        MemoryPlan plan = MemoryCheck.before(ops, MemoryCheck.models(ckpt, unet), MemoryPlan.Workload.generate(frames, height, width));
        long t0 = System.nanoTime();
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, ckpt, unet, name -> false, device.env().repackCache(), RepackCacheDir.WARN,
                loraSpecs.stream().map(LoraFile::parse).toList())) {
            int s = p.vaeScale();
            int[] shape = {1, p.unet().config().inChannels(), frames, height / s, width / s};
            System.err.printf(Locale.ROOT, "loaded in %.1f s (%s)%n", (System.nanoTime() - t0) / 1e9, p.loadTimes());
            try (Tensor init = start.latents != null ? readLatents(start.latents, shape) : new Gaussian(start.seed).tensor(shape);
                 Tensor x = VideoLayout.toFrames(ops, init);
                 Tensor edited = p.edit(x, frames, prompt, steps, guidance, new ConsoleProgress());
                 Tensor video = p.decode(edited)) {
                GifWriter.write(out, Frames.toImages(video), 1000 / Math.max(1, fps));
            }
        }
        System.err.printf("wrote %s (%d frames, %d×%d) in %.1f s%n", out, frames, width, height, (System.nanoTime() - t0) / 1e9);
        MemoryCheck.after(plan, ops);
        return 0;
    }

    static Tensor readLatents(Path file, int[] shape) {
        try (SafeTensors st = SafeTensors.open(file)) {
            String name = latentsName(st, file);
            Tensor t = st.loadF32(name);
            if (!Arrays.equals(t.shape(), shape)) {
                t.close();
                throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + " but --frames/--height/--width need " + Arrays.toString(shape));
            }
            return t;
        }
    }

    /**
     * The latents (1, C, frames, height/s, width/s) the model samples: C the UNet's in_channels (of {@code unet}
     * when given), s the VAE's downscale. From the config files alone, before anything is loaded.
     */
    static int[] latentsShape(Path model, Path unet, int frames, int height, int width) {
        return latentsShape(CheckpointDir.open(model), unet, frames, height, width);
    }

    static int[] latentsShape(CheckpointDir ckpt, Path unet, int frames, int height, int width) {
        int c = (unet != null ? CheckpointDir.unetFolderConfig(unet) : ckpt.unetConfig()).inChannels();
        int s = 1 << (ckpt.vaeConfig().blockOutChannels().length - 1);
        return new int[] {1, c, frames, height / s, width / s};
    }

    /** Refuses a latents file whose tensor is not of {@code shape}, from its header alone. */
    static void requireLatentsShape(Path file, int[] shape) {
        try (SafeTensors st = SafeTensors.open(file)) {
            String name = latentsName(st, file);
            long[] have = st.info(name).shape();
            if (!Arrays.equals(have, Arrays.stream(shape).asLongStream().toArray()))
                throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape " + Arrays.toString(have)
                        + " but --frames/--height/--width need " + Arrays.toString(shape) + " (--latents)");
        }
    }

    /** The latents tensor of a file: 'latents', or its only tensor; otherwise says how many it has and the first few. */
    static String latentsName(SafeTensors st, Path file) {
        Set<String> names = st.names();
        if (names.contains("latents")) return "latents";
        if (names.size() == 1) return names.iterator().next();
        List<String> first = names.stream().limit(3).toList();
        throw new IllegalArgumentException(file + ": expected a tensor named 'latents' (or a single tensor), found " + names.size()
                + " tensors (" + String.join(", ", first) + (names.size() > first.size() ? ", …" : "")
                + "); is this a latents file as tav tune writes to OUT/inv_latents?");
    }
}
