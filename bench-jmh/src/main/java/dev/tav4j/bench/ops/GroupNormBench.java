package dev.tav4j.bench.ops;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/** GroupNorm (32 groups) pooled over 8 frames, optionally fused with SiLU; shapes "NxHxWxC". */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GroupNormBench {
    @Param({"16x32x32x64", "16x16x16x128"})
    public String shape;

    @Param({"true", "false"})
    public boolean silu;

    private Ops ops;
    private Tensor x, gamma, beta, out;

    @Setup
    public void setup() {
        int[] d = OpsBenchState.dims(shape);
        ops = OpsBenchState.ops();
        x = OpsBenchState.rand(ops, 1, d);
        gamma = OpsBenchState.rand(ops, 2, d[3]);
        beta = OpsBenchState.rand(ops, 3, d[3]);
        out = ops.allocate(d);
    }

    @Benchmark
    public void groupNorm() {
        ops.groupNorm(x, 32, 8, gamma, beta, 1e-5f, silu, out);
        ops.synchronize();
    }
}
