package dev.tav4j.bench.ops;

import dev.tav4j.kernels.cpu.CpuFmaPeak;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/**
 * The machine's fp32 FMA peak through the Vector API, the yardstick of the kernel benches: ops/s ×
 * {@code CpuFmaPeak.flops(ITERS)} (printed at setup: 24·VL·ITERS) = FLOP/s ({@link CpuFmaPeak#chains}: twelve
 * independent FMA chains). Run with {@code -t N} for N threads: JMH then sums the threads' throughput.
 *
 * <p>{@code fma} is not inlined into JMH's measurement loop: that loop is one long call, compiled on-stack
 * (OSR), and the OSR compilation with the chains' loop inlined into it ran at 0.44 of the speed (52 against 117
 * GFLOP/s on one thread, AMD EPYC Zen 4, 2026-12-04; 117 again with {@code -XX:-UseOnStackReplacement}), so this
 * bench read half of {@code CpuFmaPeak.measure}, which calls the same method from code that is not compiled with it.
 * The kernel benches call into the engine's thread pool and read the same with and without OSR.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class FmaPeakBench {
    /** Iterations per call (a few microseconds). */
    public static final long ITERS = 4096;

    private float seed = 1f;

    @Setup(Level.Trial)
    public void announce() {
        System.out.printf("%nFmaPeakBench: %.0f flops per op%n", CpuFmaPeak.flops(ITERS));
    }

    @Benchmark
    @OperationsPerInvocation(1)
    @CompilerControl(CompilerControl.Mode.DONT_INLINE)
    public float fma() {
        return CpuFmaPeak.chains(ITERS, seed);
    }
}
