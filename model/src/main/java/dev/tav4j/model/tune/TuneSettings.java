package dev.tav4j.model.tune;

import java.util.List;

/**
 * The official tuning hyper-parameters (train_tuneavideo.py defaults and the shipped configs), and tav4j's
 * {@code loraRank}: 0 tunes the trainable modules' weights (the official way), R ≥ 1 trains rank-R LoRA adapters on
 * their Linear layers instead ({@link LoraTuning}).
 */
public record TuneSettings(float learningRate, float beta1, float beta2, float weightDecay, float eps, float maxGradNorm,
                           List<String> trainableModules, boolean gradientCheckpointing, int loraRank) {
    public TuneSettings {
        if (loraRank < 0) throw new IllegalArgumentException("lora_rank must be at least 1 (or 0: no LoRA), got " + loraRank);
    }

    /** The official values, with gradient checkpointing per block on. */
    public static TuneSettings defaults() {
        return new TuneSettings(3e-5f, 0.9f, 0.999f, 1e-2f, 1e-8f, 1.0f, TrainableModules.DEFAULT, true, 0);
    }

    public TuneSettings(float learningRate, float beta1, float beta2, float weightDecay, float eps, float maxGradNorm,
                        List<String> trainableModules, boolean gradientCheckpointing) {
        this(learningRate, beta1, beta2, weightDecay, eps, maxGradNorm, trainableModules, gradientCheckpointing, 0);
    }

    public TuneSettings(float learningRate, float beta1, float beta2, float weightDecay, float eps, float maxGradNorm,
                        List<String> trainableModules) {
        this(learningRate, beta1, beta2, weightDecay, eps, maxGradNorm, trainableModules, true);
    }

    public TuneSettings withLearningRate(float lr) {
        return new TuneSettings(lr, beta1, beta2, weightDecay, eps, maxGradNorm, trainableModules, gradientCheckpointing, loraRank);
    }

    public TuneSettings withTrainableModules(List<String> modules) {
        return new TuneSettings(learningRate, beta1, beta2, weightDecay, eps, maxGradNorm, List.copyOf(modules), gradientCheckpointing, loraRank);
    }

    /** Keep every intermediate (false: faster, more memory) or recompute each block in the backward (true). */
    public TuneSettings withGradientCheckpointing(boolean on) {
        return new TuneSettings(learningRate, beta1, beta2, weightDecay, eps, maxGradNorm, trainableModules, on, loraRank);
    }

    /** Train rank-{@code rank} LoRA adapters instead of the weights (0: the weights). */
    public TuneSettings withLoraRank(int rank) {
        return new TuneSettings(learningRate, beta1, beta2, weightDecay, eps, maxGradNorm, trainableModules, gradientCheckpointing, rank);
    }

    /** Whether this run trains LoRA adapters. */
    public boolean lora() { return loraRank > 0; }
}
