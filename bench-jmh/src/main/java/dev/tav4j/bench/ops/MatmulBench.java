package dev.tav4j.bench.ops;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/** matmul out[M, N] = a[M, K] · w[K, N] + bias; shapes "MxKxN". Ops/s × 2MKN = FLOP/s. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatmulBench {
    @Param({"16384x64x64", "256x1024x1024", "4096x320x320"})
    public String shape;

    private Ops ops;
    private Tensor a, w, bias, out;

    @Setup
    public void setup() {
        int[] d = OpsBenchState.dims(shape);
        ops = OpsBenchState.ops();
        a = OpsBenchState.rand(ops, 1, d[0], d[1]);
        w = OpsBenchState.rand(ops, 2, d[1], d[2]);
        bias = OpsBenchState.rand(ops, 3, d[2]);
        out = ops.allocate(d[0], d[2]);
    }

    @Benchmark
    public void matmul() {
        ops.matmul(a, w, bias, out);
        ops.synchronize();
    }
}
