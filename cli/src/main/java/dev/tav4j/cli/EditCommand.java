package dev.tav4j.cli;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.LoraFile;
import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.pipeline.VideoLayout;
import dev.tav4j.model.pipeline.VideoOutput;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.model.tune.LoraTuning;
import dev.tav4j.model.video.Frames;
import dev.tav4j.model.video.VideoClip;
import dev.tav4j.model.video.VideoGrid;
import dev.tav4j.video.VideoReader;
import dev.tav4j.model.video.VideoSampling;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code tav edit}: a tuned model edits its video. Starts from inverted latents (a file, or a video inverted here:
 * VAE posterior mean, DDIM inversion with the empty prompt) or from seeded noise, then guided DDIM towards the prompt.
 */
@Command(name = "edit", description = "Edit a video with a tuned model: DDIM inversion (or given latents) then guided DDIM towards a prompt; writes .gif or .mp4.")
final class EditCommand implements Callable<Integer> {
    @Option(names = "--model", description = "The base checkpoint the model was tuned from: a diffusers folder, or a single-file checkpoint (.safetensors, original LDM layout) (default: the shipped world model, models/world-sd).") Path model;
    @Option(names = "--config", description = "For a single-file --model: a folder of diffusers configs (unet/, vae/, text_encoder/, scheduler/, optionally tokenizer/) or the LDM YAML (v1-inference.yaml, ...); default: SD 1.x / 2.x recognised from the tensors.") Path config;
    @Option(names = "--prediction-type", description = "For a single-file --model: epsilon or v (default: the config's).") String predictionType;
    @Option(names = "--tuned", description = "The tuning output folder (tav tune --out) or its unet/ folder; required unless --lora gives the tuning (tav tune --lora-rank: --lora OUT/lora.safetensors).") Path tuned;
    @Option(names = "--lora", paramLabel = "FILE[:SCALE]", description = "A LoRA file (kohya or diffusers/PEFT safetensors) merged into the text encoder and UNet at load, times SCALE (default 1); repeatable.") List<String> loraSpecs = new ArrayList<>();
    @Option(names = "--prompt", required = true, description = "The edit prompt.") String prompt;
    @Option(names = "--steps", defaultValue = "50", description = "Guided DDIM steps (default: ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--guidance", defaultValue = "12.5", description = "Guidance scale (default: ${DEFAULT-VALUE}).") float guidance;
    @Option(names = "--out", required = true, description = "Output video, .gif or .mp4.") Path out;
    @Option(names = "--grid", description = "Also write input | edit side by side to this .gif/.mp4 (with --video).") Path grid;
    @Option(names = "--fps", defaultValue = "8", description = "Output frame rate (default: ${DEFAULT-VALUE}).") int fps;
    @Option(names = "--frames", defaultValue = "24", description = "Frames (with --video or --seed; default: ${DEFAULT-VALUE}).") int frames;
    @Option(names = "--height", description = "Frame height (with --video or --seed; default: 512; the shipped world model's 64 without --model).") Integer height;
    @Option(names = "--width", description = "Frame width (with --video or --seed; default: 512; the shipped world model's 64 without --model).") Integer width;
    @Option(names = "--rate", defaultValue = "1", description = "With --video: take every R-th frame (default: ${DEFAULT-VALUE}).") int rate;
    @Option(names = "--start", defaultValue = "0", description = "With --video: index of the first frame (default: ${DEFAULT-VALUE}).") int start;
    @Option(names = "--inv-steps", description = "With --video: DDIM inversion steps (default: --steps).") Integer invSteps;
    @Option(names = "--seed", defaultValue = "33", description = "Seed of the initial noise without --latents/--video (default: ${DEFAULT-VALUE}).") long seed;
    @Mixin DeviceOption device;

    @ArgGroup(exclusive = true) Source source;

    static final class Source {
        @Option(names = "--latents", description = "Inverted latents (safetensors, tensor 'latents' of shape (1, 4, F, H/8, W/8)), e.g. OUT/inv_latents/ddim_latent-500.safetensors.") Path latents;
        @Option(names = "--video", description = "A video to invert and edit.") Path video;
    }

    @Override public Integer call() {
        requireVideoName(out, "--out");
        int[] size = WorldModel.defaults(p -> model = p, model, height, width);
        height = size[0];
        width = size[1];
        if (grid != null) requireVideoName(grid, "--grid");
        if (grid != null && (source == null || source.video == null)) throw new IllegalArgumentException("--grid needs --video (the input to show)");
        if (tuned == null && loraSpecs.isEmpty())
            throw new IllegalArgumentException("Missing required option: '--tuned=<tuned>' (or --lora OUT/lora.safetensors for a model tuned with --lora-rank)");
        if (tuned != null && Files.isDirectory(tuned) && !Files.exists(tuned.resolve("unet")) && !Files.exists(tuned.resolve("config.json"))
                && Files.isRegularFile(tuned.resolve(LoraTuning.FILE)))
            throw new IllegalArgumentException("--tuned " + tuned + " holds a LoRA (" + LoraTuning.FILE + ", tuned with --lora-rank), not a tuned UNet: "
                    + "give it as --lora " + tuned.resolve(LoraTuning.FILE) + " instead of --tuned");
        CheckpointDir ckpt = ModelArgs.open(model, config, predictionType);
        Checks.ddimSteps("--steps", steps, ckpt);
        if (invSteps != null) Checks.ddimSteps("--inv-steps", invSteps, ckpt);
        Checks.finite("--guidance", guidance);
        Checks.atLeast("--fps", fps, 1);
        if (source == null || source.video != null) {
            Checks.shape("--frames", frames, "--height", height, "--width", width);
            Checks.atLeast("--rate", rate, 1);
            Checks.atLeast("--start", start, 0);
        }
        // a wrong file, or latents the UNet cannot take, fail here (header and configs only), not after loading
        if (source != null && source.latents != null) requireLatents(source.latents, (tuned != null ? CheckpointDir.unetFolderConfig(tuned) : ckpt.unetConfig()).inChannels());
        // both outputs are checked before any work, so neither a bad --out nor a bad --grid costs the compute
        Checks.outputFile("--out", out);
        if (grid != null) Checks.outputFile("--grid", grid);
        long t0 = System.nanoTime(), t = t0;
        StringBuilder times = new StringBuilder();
        VideoClip clip = null;
        if (source != null && source.video != null) {
            clip = VideoReader.read(source.video, new VideoSampling(width, height, frames, start, rate));
            System.err.println("video: " + source.video + " → " + clip);
            t = stage(times, "read video", t);
        }
        Ops ops = device.open();
        MemoryPlan plan = MemoryCheck.before(ops, MemoryCheck.models(ckpt, tuned), workload(clip));
        ConsoleProgress progress = new ConsoleProgress();
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, ckpt, tuned, name -> false, device.env().repackCache(), RepackCacheDir.WARN,
                loraSpecs.stream().map(LoraFile::parse).toList())) {
            t = stage(times, "load checkpoint + tuned UNet", t);
            System.err.println("loaded: " + p.loadTimes());
            Tensor init;
            int f;
            if (clip != null) {
                f = clip.frames().size();
                int inv = invSteps != null ? invSteps : steps;
                try (Tensor pixels = clip.toPixels(); Tensor mean = p.encodeVideoMean(pixels)) {
                    t = stage(times, "VAE encode", t);
                    progress.mark();
                    init = p.invert(mean, f, inv, progress);
                    t = stage(times, "DDIM inversion (" + inv + " steps)", t);
                }
            } else {
                int c = p.unet().config().inChannels(), vs = p.vaeScale();
                try (Tensor bcfhw = source != null ? readLatents(source.latents) : new Gaussian(seed).tensor(1, c, frames, height / vs, width / vs)) {
                    if (bcfhw.dim(1) != c)
                        throw new IllegalArgumentException(source.latents + ": latents have " + bcfhw.dim(1) + " channels, the UNet takes " + c);
                    f = bcfhw.dim(2);
                    init = VideoLayout.toFrames(ops, bcfhw);
                }
            }
            List<BufferedImage> images;
            try (init) {
                progress.mark();
                try (Tensor edited = p.edit(init, f, prompt, steps, guidance, progress)) {
                    t = stage(times, "guided DDIM (" + steps + " steps, guidance " + guidance + ")", t);
                    try (Tensor video = p.decode(edited)) {
                        images = Frames.toImages(video);
                    }
                    t = stage(times, "VAE decode", t);
                }
            }
            VideoOutput.write(out, images, fps);
            System.out.println("wrote " + out + " (" + images.size() + " frames, " + images.getFirst().getWidth() + "x" + images.getFirst().getHeight() + ")");
            if (grid != null) {
                VideoOutput.write(grid, VideoGrid.sideBySide(List.of(clip.frames(), images)), fps);
                System.out.println("wrote " + grid + " (input | edit)");
            }
            stage(times, "write", t);
        }
        System.out.print("time:\n" + times);
        System.out.printf(Locale.ROOT, "  %-40s %8.1f s%n", "total", (System.nanoTime() - t0) / 1e9);
        MemoryCheck.after(plan, ops);
        return 0;
    }

    /** What the run computes, known before loading: the clip read, the latents file's shape, or the options. */
    private MemoryPlan.Workload workload(VideoClip clip) {
        if (clip != null) return MemoryPlan.Workload.edit(clip.frames().size(), height, width, true);
        if (source != null && source.latents != null) {
            try (SafeTensors st = SafeTensors.open(source.latents)) {
                long[] s = st.info(latentsName(st, source.latents)).shape();
                if (s.length == 5) return MemoryPlan.Workload.edit((int) s[2], (int) s[3] * 8, (int) s[4] * 8, false);
            }
        }
        return MemoryPlan.Workload.edit(frames, height, width, false);
    }

    private static long stage(StringBuilder times, String name, long since) {
        long now = System.nanoTime();
        times.append(String.format(Locale.ROOT, "  %-40s %8.1f s%n", name, (now - since) / 1e9));
        return now;
    }

    private static void requireVideoName(Path file, String option) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!n.endsWith(".gif") && !n.endsWith(".mp4")) throw new IllegalArgumentException(option + " must end in .gif or .mp4: " + file);
    }

    private static String latentsName(SafeTensors st, Path file) {
        return GenerateCommand.latentsName(st, file);
    }

    /** Refuses a latents file whose tensor is not (1, {@code channels}, F, h, w), from its header alone. */
    static void requireLatents(Path file, int channels) {
        try (SafeTensors st = SafeTensors.open(file)) {
            String name = latentsName(st, file);
            long[] s = st.info(name).shape();
            if (s.length != 5 || s[0] != 1)
                throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape " + Arrays.toString(s)
                        + "; --latents must be (1, " + channels + ", frames, height/8, width/8) as tav tune writes to OUT/inv_latents");
            if (s[1] != channels)
                throw new IllegalArgumentException(file + ": latents have " + s[1] + " channels (shape " + Arrays.toString(s)
                        + "), the --tuned UNet takes " + channels + " (--latents)");
            if (s[2] < 1 || s[3] < 1 || s[4] < 1)
                throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape " + Arrays.toString(s) + ": no frames or no pixels (--latents)");
        }
    }

    /** The latents (1, C, F, h, w) of a safetensors file. */
    static Tensor readLatents(Path file) {
        try (SafeTensors st = SafeTensors.open(file)) {
            String name = latentsName(st, file);
            Tensor t = st.loadF32(name);
            if (t.shape().length != 5 || t.dim(0) != 1) {
                int[] s = t.shape();
                t.close();
                throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape " + Arrays.toString(s)
                        + "; expected (1, 4, frames, height/8, width/8) as tav tune writes to OUT/inv_latents");
            }
            return t;
        }
    }
}
