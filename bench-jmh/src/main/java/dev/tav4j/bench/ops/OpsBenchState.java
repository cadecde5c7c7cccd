package dev.tav4j.bench.ops;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import java.util.Random;

/** Shared helpers of the op benchmarks: the backend under test and seeded random tensors. */
final class OpsBenchState {
    private OpsBenchState() {}

    /**
     * The backend named by -Dtav.bench.backend (default cpu), set up by the documented switches. The JMH state classes
     * are this module's entry points, so this is where the process's properties and environment are read.
     */
    static Ops ops() {
        String name = System.getProperty("tav.bench.backend", "cpu");
        return name.equals("cpu") ? new CpuOps()
                : dev.tav4j.runtime.Backends.select(name, BackendSettings.fromSystem(System::getProperty, System::getenv));
    }

    static Tensor rand(Ops ops, long seed, int... shape) {
        Random rnd = new Random(seed);
        Tensor t = Tensor.host(shape);
        for (long i = 0; i < t.size(); i++) t.set(i, 2 * rnd.nextFloat() - 1);
        if (ops.name().equals("cpu")) return t;
        Tensor d = ops.upload(t);
        t.close();
        return d;
    }

    static int[] dims(String text) {
        return java.util.Arrays.stream(text.split("x")).mapToInt(Integer::parseInt).toArray();
    }
}
