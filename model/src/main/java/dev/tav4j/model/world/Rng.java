package dev.tav4j.model.world;

/**
 * SplitMix64 (Steele, Lea and Flood 2014): a tiny generator whose every output is defined by integer arithmetic
 * alone, so a seed gives the same numbers on any JVM and machine (unlike {@code SplittableRandom}, whose algorithm
 * the JDK may change). Doubles are the top 53 bits over 2^53.
 */
final class Rng {
    private long state;

    Rng(long seed) { this.state = seed; }

    /** The generator of sample {@code index} under {@code seed}: independent streams for independent samples. */
    static Rng of(long seed, long index) {
        return new Rng(mix(mix(seed) ^ (index * 0xD1B54A32D192ED03L + 0x2545F4914F6CDD1DL)));
    }

    long nextLong() {
        return mix(state += 0x9E3779B97F4A7C15L);
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1). */
    double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [lo, hi). */
    double uniform(double lo, double hi) {
        return lo + (hi - lo) * nextDouble();
    }

    /** Uniform in [0, n): the high bits times n (Lemire's multiply-shift, without the rejection step; bias below 2^-32 for small n). */
    int nextInt(int n) {
        if (n <= 0) throw new IllegalArgumentException("n must be positive, got " + n);
        return (int) (((nextLong() >>> 32) * n) >>> 32);
    }

    boolean nextBoolean() {
        return nextLong() < 0;
    }

    /** A standard normal by Box–Muller with StrictMath (the same bits everywhere). */
    double nextGaussian() {
        double u = 1.0 - nextDouble(), v = nextDouble();
        return StrictMath.sqrt(-2 * StrictMath.log(u)) * StrictMath.cos(2 * StrictMath.PI * v);
    }
}
