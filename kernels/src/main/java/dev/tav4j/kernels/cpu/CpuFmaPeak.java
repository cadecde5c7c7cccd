package dev.tav4j.kernels.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.CyclicBarrier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The machine's fp32 FMA peak as the Vector API reaches it: the yardstick for the CPU kernels' GFLOP/s (a stage's
 * fraction of it in {@code tav bench pipeline}, the JMH kernel benches in docs/performance.md). Each thread runs
 * twelve independent chains of vector FMAs, enough to cover the FMA latency (4–5 cycles) on two FMA ports, with no
 * memory traffic; 2·VL flops per FMA. The result is what the cores sustain at the clock they run at under that load
 * (turbo and AVX-512 licences included), not a data-sheet figure.
 */
public final class CpuFmaPeak {
    private static final int CHAINS = 12;

    /**
     * @param model   the CPU model (/proc/cpuinfo's "model name", or the architecture where there is none)
     * @param flags   the vector features the JIT can use (avx2, fma, avx512f, amx_tile, asimd, sve, …)
     * @param lanes   fp32 lanes of the preferred vector species
     * @param threads threads of {@link #gflopsAll}
     * @param gflopsOne FMA GFLOP/s of one thread
     * @param gflopsAll FMA GFLOP/s of {@code threads} threads at once
     */
    public record Peak(String model, String flags, int lanes, int threads, double gflopsOne, double gflopsAll) {
        public String describe() {
            return String.format(Locale.ROOT, "%s (%s; %d fp32 lanes): fp32 FMA peak %.1f GFLOP/s on %d threads, %.1f on one",
                    model, flags, lanes, gflopsAll, threads, gflopsOne);
        }
    }

    private CpuFmaPeak() {}

    /** Measures the peak on one thread and on {@code threads} threads, each the best of three runs of about {@code millis} ms. */
    public static Peak measure(int threads, int millis) {
        long iters = calibrate(millis);
        double one = 0, all = 0;
        for (int r = 0; r < 3; r++) {
            one = Math.max(one, run(1, iters));
            all = Math.max(all, run(threads, iters));
        }
        return new Peak(cpuModel(), vectorFlags(), Vec.VL, threads, one, all);
    }

    /** Flops of one call of {@link #chains} with {@code iters} iterations. */
    public static double flops(long iters) {
        return 2.0 * Vec.VL * CHAINS * iters;
    }

    /**
     * Twelve chains c = a·c + b, {@code iters} times each; returns a sum of the chains so that none is dead code. The
     * accumulators are only ever arguments (never receivers) of the Vector API calls, as in the kernels (Vec's note).
     */
    public static float chains(long iters, float seed) {
        FloatVector a = FloatVector.broadcast(Vec.S, 0.999999f), b = FloatVector.broadcast(Vec.S, 1e-6f);
        FloatVector c0 = FloatVector.broadcast(Vec.S, seed), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (long i = 0; i < iters; i++) {
            c0 = a.fma(c0, b);
            c1 = a.fma(c1, b);
            c2 = a.fma(c2, b);
            c3 = a.fma(c3, b);
            c4 = a.fma(c4, b);
            c5 = a.fma(c5, b);
            c6 = a.fma(c6, b);
            c7 = a.fma(c7, b);
            c8 = a.fma(c8, b);
            c9 = a.fma(c9, b);
            c10 = a.fma(c10, b);
            c11 = a.fma(c11, b);
        }
        FloatVector s = c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11);
        return s.reduceLanes(VectorOperators.ADD);
    }

    /** Iterations that take about {@code millis} ms on one thread, after warming {@link #chains} up into C2. */
    private static long calibrate(int millis) {
        long iters = 1 << 14;
        float sink = 0;
        for (int i = 0; i < 200; i++) sink += chains(iters, i); // tiered compilation reaches C2 well within this
        long t;
        do {
            iters *= 2;
            long t0 = System.nanoTime();
            sink += chains(iters, sink);
            t = System.nanoTime() - t0;
        } while (t < millis * 1_000_000L / 4 && iters < (1L << 40));
        if (Float.isNaN(sink)) throw new IllegalStateException("unreachable: keeps the warm-up alive");
        return iters * 4;
    }

    private static double run(int threads, long iters) {
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        Thread[] ts = new Thread[threads];
        float[] sink = new float[threads];
        for (int i = 0; i < threads; i++) {
            int id = i;
            ts[i] = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                sink[id] = chains(iters, id);
            }, "tav-fma-peak-" + i);
            ts[i].start();
        }
        try {
            start.await();
            long t0 = System.nanoTime();
            for (Thread t : ts) t.join();
            long ns = System.nanoTime() - t0;
            return threads * flops(iters) / ns;
        } catch (Exception e) {
            throw new IllegalStateException("FMA peak measurement interrupted", e);
        }
    }

    /** /proc/cpuinfo's model name (or the JVM's os.arch where it is missing). */
    public static String cpuModel() {
        for (String line : cpuinfo()) {
            if (line.startsWith("model name") || line.startsWith("Model")) {
                int c = line.indexOf(':');
                if (c > 0) return line.substring(c + 1).trim();
            }
        }
        return System.getProperty("os.arch");
    }

    /** The vector-relevant feature flags of the first CPU in /proc/cpuinfo, space-separated ("unknown" without it). */
    public static String vectorFlags() {
        List<String> wanted = List.of("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_fp16",
                "amx_tile", "amx_bf16", "asimd", "sve", "sve2");
        TreeSet<String> got = new TreeSet<>((x, y) -> Integer.compare(wanted.indexOf(x), wanted.indexOf(y)));
        for (String line : cpuinfo()) {
            if (line.startsWith("flags") || line.startsWith("Features")) {
                for (String f : line.substring(line.indexOf(':') + 1).trim().split("\\s+")) if (wanted.contains(f)) got.add(f);
                break;
            }
        }
        return got.isEmpty() ? "unknown" : String.join(" ", got);
    }

    private static List<String> cpuinfo() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo"));
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }
}
