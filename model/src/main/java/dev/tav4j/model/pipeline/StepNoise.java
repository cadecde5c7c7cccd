package dev.tav4j.model.pipeline;

import dev.tav4j.runtime.Tensor;

/**
 * The randomness of one tuning step (posterior sample noise, diffusion noise, timestep), drawn from a generator
 * seeded by (seed, step): a run resumed from a checkpoint draws exactly what the uninterrupted run would have.
 */
record StepNoise(Tensor posterior, Tensor noise, int timestep) implements AutoCloseable {
    static StepNoise of(long seed, int step, int[] latentShape, int trainTimesteps) {
        Gaussian g = new Gaussian(seed * 0x9E3779B97F4A7C15L + step);
        int t = g.nextInt(trainTimesteps);
        return new StepNoise(g.tensor(latentShape), g.tensor(latentShape), t);
    }

    @Override public void close() {
        posterior.close();
        noise.close();
    }
}
