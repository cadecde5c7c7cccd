package dev.tav4j.model.tune;

import java.util.List;

/** The official tuning hyper-parameters (train_tuneavideo.py defaults and the shipped configs). */
public record TuneSettings(float learningRate, float beta1, float beta2, float weightDecay, float eps, float maxGradNorm,
                           List<String> trainableModules, boolean gradientCheckpointing) {
    /** The official values, with gradient checkpointing per block on. */
    public static TuneSettings defaults() {
        return new TuneSettings(3e-5f, 0.9f, 0.999f, 1e-2f, 1e-8f, 1.0f, TrainableModules.DEFAULT, true);
    }

    public TuneSettings(float learningRate, float beta1, float beta2, float weightDecay, float eps, float maxGradNorm,
                        List<String> trainableModules) {
        this(learningRate, beta1, beta2, weightDecay, eps, maxGradNorm, trainableModules, true);
    }

    public TuneSettings withLearningRate(float lr) {
        return new TuneSettings(lr, beta1, beta2, weightDecay, eps, maxGradNorm, trainableModules, gradientCheckpointing);
    }

    public TuneSettings withTrainableModules(List<String> modules) {
        return new TuneSettings(learningRate, beta1, beta2, weightDecay, eps, maxGradNorm, List.copyOf(modules), gradientCheckpointing);
    }

    /** Keep every intermediate (false: faster, more memory) or recompute each block in the backward (true). */
    public TuneSettings withGradientCheckpointing(boolean on) {
        return new TuneSettings(learningRate, beta1, beta2, weightDecay, eps, maxGradNorm, trainableModules, on);
    }
}
