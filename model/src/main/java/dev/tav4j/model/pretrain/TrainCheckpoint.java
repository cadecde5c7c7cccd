package dev.tav4j.model.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.model.nn.Param;
import dev.tav4j.model.tune.TuneCheckpoint;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A resumable checkpoint of a {@link Trainer}, {@code DIR/checkpoint-N/}: every parameter (its fp32 master, PyTorch
 * layout) in params.safetensors, AdamW's moments in optimizer.safetensors, and state.json (the trainer's counters plus
 * what the caller adds: the run's definition, the loss). Written to a temporary folder and renamed, so a checkpoint
 * folder is always complete; only the newest {@link #KEEP} are kept.
 */
public final class TrainCheckpoint {
    public static final int KEEP = 2;

    private TrainCheckpoint() {}

    public static Path save(Path dir, Trainer trainer, ObjectNode extra) {
        int step = trainer.steps();
        Path to = dir.resolve("checkpoint-" + step), tmp = dir.resolve(".checkpoint-" + step + ".part");
        Map<String, Tensor> weights = new LinkedHashMap<>(), optim = new LinkedHashMap<>();
        Ops ops = trainer.params().ops();
        try {
            TuneCheckpoint.deleteRecursively(tmp);
            Files.createDirectories(tmp);
            weights.putAll(trainer.parametersTorchLayout());
            for (String name : trainer.trainable().keySet()) {
                Tensor[] mv = trainer.moments(name);
                optim.put("m/" + name, ops.download(mv[0]));
                optim.put("v/" + name, ops.download(mv[1]));
            }
            SafeTensorsWriter.write(tmp.resolve("params.safetensors"), weights, Map.of("format", "pt"));
            SafeTensorsWriter.write(tmp.resolve("optimizer.safetensors"), optim, Map.of());
            ObjectNode state = extra.deepCopy();
            Trainer.State st = trainer.state();
            state.put("step", st.steps());
            state.put("optimizer_step", st.optimizerSteps());
            state.put("skipped_steps", st.skippedSteps());
            state.put("loss_scale", st.lossScale());
            state.put("growth_tracker", st.growthTracker());
            Files.writeString(tmp.resolve("state.json"), state.toPrettyString());
            TuneCheckpoint.deleteRecursively(to);
            Files.move(tmp, to, StandardCopyOption.ATOMIC_MOVE);
            prune(dir);
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + to + ": " + e.getMessage(), e);
        } finally {
            weights.values().forEach(Tensor::close);
            optim.values().forEach(Tensor::close);
            try {
                TuneCheckpoint.deleteRecursively(tmp);
            } catch (IOException ignored) {
                // best effort: a leftover .part folder is never read
            }
        }
    }

    /** The complete checkpoint with the highest step under {@code dir}, if any. */
    public static Optional<Path> latest(Path dir) {
        return TuneCheckpoint.latest(dir);
    }

    public static JsonNode state(Path checkpoint) {
        return Json.read(checkpoint.resolve("state.json"));
    }

    /** Restores parameters (into the masters, then the working copies), moments and counters; returns state.json. */
    public static JsonNode restore(Path checkpoint, Trainer trainer) {
        JsonNode state = state(checkpoint);
        int step = state.path("step").asInt(-1);
        if (step < 0) throw new IllegalArgumentException(checkpoint.resolve("state.json") + ": no step");
        try (SafeTensors w = SafeTensors.open(checkpoint.resolve("params.safetensors"));
             SafeTensors o = SafeTensors.open(checkpoint.resolve("optimizer.safetensors"))) {
            Map<String, Tensor> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, Param> e : trainer.trainable().entrySet()) {
                    if (!w.has(e.getKey())) throw new IllegalArgumentException(checkpoint + ": no parameter " + e.getKey() + " (another model?)");
                    try (Tensor t = w.loadF32(e.getKey())) {
                        Param p = e.getValue();
                        trainer.params().assignFromTorchLayout(new Param(p.name(), trainer.master(p.name()), p.torchShape(), p.layout()), t);
                    }
                    m.put(e.getKey(), o.loadF32("m/" + e.getKey()));
                    v.put(e.getKey(), o.loadF32("v/" + e.getKey()));
                }
                trainer.restore(new Trainer.State(step, state.path("optimizer_step").asInt(step), state.path("skipped_steps").asInt(0),
                        (float) state.path("loss_scale").asDouble(trainer.lossScaler().scale()), state.path("growth_tracker").asInt(0)), m, v);
                trainer.refreshWorkingCopies();
            } finally {
                m.values().forEach(Tensor::close);
                v.values().forEach(Tensor::close);
            }
        }
        return state;
    }

    private static void prune(Path dir) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.list(dir)) {
            all = s.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+") && Files.isRegularFile(p.resolve("state.json")))
                    .sorted((a, b) -> Integer.compare(TuneCheckpoint.stepOf(b), TuneCheckpoint.stepOf(a))).toList();
        }
        for (int i = KEEP; i < all.size(); i++) TuneCheckpoint.deleteRecursively(all.get(i));
    }
}
