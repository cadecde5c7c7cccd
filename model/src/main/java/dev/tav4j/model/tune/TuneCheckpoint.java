package dev.tav4j.model.tune;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.model.nn.Param;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A tuning checkpoint, {@code OUT/checkpoint-N/}: the trainable parameters (their fp32 masters, PyTorch layout; a
 * LoRA run's are its adapters, {@code <module>.lora_A.weight} / {@code .lora_B.weight}),
 * AdamW's moments and state.json (step, seed, AdamW's step count, skipped steps, loss scale and growth tracker; a
 * checkpoint without the last four is read as an fp32 run's). Written to a temporary folder and renamed, so a
 * checkpoint folder is always complete.
 */
public final class TuneCheckpoint {
    private TuneCheckpoint() {}

    public static Path save(Path outputDir, Tuner tuner, ParamStore params, long seed) {
        return save(outputDir, tuner, params, seed, Map.of(), Float.NaN);
    }

    /**
     * Also records what defines the run ({@code run}: model hash, video, prompt, seed, size, …; compared by
     * {@code --resume}) and the loss of the checkpoint's step (reported when a resumed run has nothing left to do).
     */
    public static Path save(Path outputDir, Tuner tuner, ParamStore params, long seed, Map<String, String> run, float loss) {
        int step = tuner.steps();
        Path dir = outputDir.resolve("checkpoint-" + step);
        Path tmp = outputDir.resolve(".checkpoint-" + step + ".part");
        Map<String, Tensor> weights = new LinkedHashMap<>(), optim = new LinkedHashMap<>();
        Ops ops = params.ops();
        try {
            deleteRecursively(tmp);
            Files.createDirectories(tmp);
            for (Map.Entry<String, Param> e : tuner.trainable().entrySet()) {
                weights.put(e.getKey(), params.toTorchLayout(e.getValue(), tuner.master(e.getKey())));
                Tensor[] mv = tuner.moments(e.getKey());
                optim.put("m/" + e.getKey(), ops.download(mv[0]));
                optim.put("v/" + e.getKey(), ops.download(mv[1]));
            }
            SafeTensorsWriter.write(tmp.resolve("trainable.safetensors"), weights, Map.of("format", "pt"));
            SafeTensorsWriter.write(tmp.resolve("optimizer.safetensors"), optim, Map.of());
            ObjectNode state = Json.MAPPER.createObjectNode();
            Tuner.State st = tuner.state();
            state.put("step", step);
            state.put("seed", seed);
            state.put("optimizer_step", st.optimizerSteps());
            state.put("skipped_steps", st.skippedSteps());
            state.put("loss_scale", st.lossScale());
            state.put("growth_tracker", st.growthTracker());
            if (Float.isFinite(loss)) state.put("loss", loss);
            if (!run.isEmpty()) {
                ObjectNode r = state.putObject("run");
                run.forEach(r::put);
            }
            Files.writeString(tmp.resolve("state.json"), state.toPrettyString());
            deleteRecursively(dir);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + dir + ": " + e.getMessage(), e);
        } finally {
            weights.values().forEach(Tensor::close);
            optim.values().forEach(Tensor::close);
            try {
                deleteRecursively(tmp);
            } catch (IOException ignored) {
                // best effort: a leftover .part folder is never read
            }
        }
    }

    /** The complete checkpoint with the highest step under {@code outputDir}, if any. */
    public static Optional<Path> latest(Path outputDir) {
        if (!Files.isDirectory(outputDir)) return Optional.empty();
        try (Stream<Path> s = Files.list(outputDir)) {
            return s.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+") && Files.isRegularFile(p.resolve("state.json")))
                    .max(Comparator.comparingInt(TuneCheckpoint::stepOf));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + outputDir, e);
        }
    }

    /** What state.json says about a checkpoint: its step, seed, loss (NaN if not recorded) and run (empty if not recorded). */
    public record Info(int step, long seed, float loss, Map<String, String> run) {}

    public static Info info(Path checkpoint) {
        var state = Json.read(checkpoint.resolve("state.json"));
        Map<String, String> run = new LinkedHashMap<>();
        state.path("run").properties().forEach(e -> run.put(e.getKey(), e.getValue().asText()));
        return new Info(state.path("step").asInt(-1), state.path("seed").asLong(), (float) state.path("loss").asDouble(Double.NaN), run);
    }

    public static int stepOf(Path checkpoint) {
        return Integer.parseInt(checkpoint.getFileName().toString().substring("checkpoint-".length()));
    }

    /** Restores parameters and optimizer state; returns the seed the run was started with. */
    public static long restore(Path dir, Tuner tuner, ParamStore params) {
        var state = Json.read(dir.resolve("state.json"));
        int step = state.path("step").asInt(-1);
        if (step < 0) throw new IllegalArgumentException(dir.resolve("state.json") + ": no step");
        try (SafeTensors w = SafeTensors.open(dir.resolve("trainable.safetensors"));
             SafeTensors o = SafeTensors.open(dir.resolve("optimizer.safetensors"))) {
            Map<String, Tensor> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, Param> e : tuner.trainable().entrySet()) {
                    if (!w.has(e.getKey()))
                        throw new IllegalArgumentException(dir + ": checkpoint does not hold trainable parameter " + e.getKey()
                                + " (was it written with other trainable_modules or another lora_rank?)");
                    try (Tensor t = w.loadF32(e.getKey())) {
                        Param p = e.getValue();  // into the fp32 master (the parameter itself in fp32)
                        params.assignFromTorchLayout(new Param(p.name(), tuner.master(p.name()), p.torchShape(), p.layout()), t);
                    }
                    m.put(e.getKey(), o.loadF32("m/" + e.getKey()));
                    v.put(e.getKey(), o.loadF32("v/" + e.getKey()));
                }
                tuner.restore(new Tuner.State(step, state.path("optimizer_step").asInt(step), state.path("skipped_steps").asInt(0),
                        (float) state.path("loss_scale").asDouble(tuner.lossScaler().scale()),
                        state.path("growth_tracker").asInt(0)), m, v);
                tuner.refreshWorkingCopies();
            } finally {
                m.values().forEach(Tensor::close);
                v.values().forEach(Tensor::close);
            }
        }
        return state.path("seed").asLong();
    }

    /** Removes a file or folder tree (used around atomic renames of output folders). */
    public static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
