package dev.tav4j.bench.ops;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/** 3×3 same-padding conv, channels-last; shapes "NxHxWxCixCo" (the bench UNet's 64- and 128-channel levels). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class Conv2dBench {
    @Param({"16x32x32x64x64", "16x16x16x128x128", "16x8x8x256x256"})
    public String shape;

    @Param({"1"})
    public int stride;

    private Ops ops;
    private Tensor x, w, bias, out;

    @Setup
    public void setup() {
        int[] d = OpsBenchState.dims(shape);
        ops = OpsBenchState.ops();
        x = OpsBenchState.rand(ops, 1, d[0], d[1], d[2], d[3]);
        w = OpsBenchState.rand(ops, 2, 3, 3, d[3], d[4]);
        bias = OpsBenchState.rand(ops, 3, d[4]);
        out = ops.allocate(d[0], (d[1] + 2 - 3) / stride + 1, (d[2] + 2 - 3) / stride + 1, d[4]);
    }

    @Benchmark
    public void conv3x3() {
        ops.conv2d(x, w, bias, stride, 1, false, out);
        ops.synchronize();
    }
}
