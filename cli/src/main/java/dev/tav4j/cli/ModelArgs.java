package dev.tav4j.cli;

import dev.tav4j.model.io.CheckpointDir;

import java.nio.file.Path;

/** Opens {@code --model} with {@code --config} and {@code --prediction-type}; a single file's note goes to stderr. */
final class ModelArgs {
    private ModelArgs() {}

    static CheckpointDir open(Path model, Path config, String predictionType) {
        CheckpointDir ckpt = CheckpointDir.open(model, config, predictionType);
        if (ckpt.note() != null) System.err.println("note: " + ckpt.note());
        return ckpt;
    }
}
