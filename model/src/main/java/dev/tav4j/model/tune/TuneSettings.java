package dev.tav4j.model.tune;

import java.util.List;

/** The official tuning hyper-parameters (train_tuneavideo.py defaults and the shipped configs). */
public record TuneSettings(float learningRate, float beta1, float beta2, float weightDecay, float eps, float maxGradNorm,
                           List<String> trainableModules) {
    public static TuneSettings defaults() {
        return new TuneSettings(3e-5f, 0.9f, 0.999f, 1e-2f, 1e-8f, 1.0f, TrainableModules.DEFAULT);
    }

    public TuneSettings withLearningRate(float lr) {
        return new TuneSettings(lr, beta1, beta2, weightDecay, eps, maxGradNorm, trainableModules);
    }

    public TuneSettings withTrainableModules(List<String> modules) {
        return new TuneSettings(learningRate, beta1, beta2, weightDecay, eps, maxGradNorm, List.copyOf(modules));
    }
}
