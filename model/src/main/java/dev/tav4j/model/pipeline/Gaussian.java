package dev.tav4j.model.pipeline;

import dev.tav4j.runtime.Tensor;

import java.util.SplittableRandom;

/**
 * Seeded standard-normal noise (Box–Muller over SplittableRandom). Runs are repeatable for a seed; the values are
 * not those of torch.randn (which no JVM code reproduces), so a seed here is not a PyTorch seed.
 */
public final class Gaussian {
    private final SplittableRandom rng;
    private double spare = Double.NaN;

    public Gaussian(long seed) {
        this.rng = new SplittableRandom(seed);
    }

    public double next() {
        if (!Double.isNaN(spare)) {
            double s = spare;
            spare = Double.NaN;
            return s;
        }
        double u1 = rng.nextDouble(), u2 = rng.nextDouble();
        double r = Math.sqrt(-2 * Math.log(1 - u1));
        spare = r * Math.sin(2 * Math.PI * u2);
        return r * Math.cos(2 * Math.PI * u2);
    }

    /** A uniform value in [lo, hi). */
    public double uniform(double lo, double hi) {
        return lo + (hi - lo) * rng.nextDouble();
    }

    /** A uniform integer in [0, bound). */
    public int nextInt(int bound) {
        return rng.nextInt(bound);
    }

    /** A new host tensor of standard-normal values. */
    public Tensor tensor(int... shape) {
        Tensor t = Tensor.host(shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) next());
        return t;
    }
}
