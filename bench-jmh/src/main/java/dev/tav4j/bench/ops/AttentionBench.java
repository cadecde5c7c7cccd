package dev.tav4j.bench.ops;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/**
 * Every attention kind at the bench UNet's first level: N = 2 videos × 8 frames, 32×32 latents (L = 1024),
 * 64 channels, 8 heads; cross attention over 77 text tokens.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class AttentionBench {
    @Param({"SPARSE_CAUSAL", "CROSS", "TEMPORAL", "SELF"})
    public AttentionKind kind;

    @Param({"1024"})
    public int tokens;

    @Param({"64"})
    public int channels;

    @Param({"8"})
    public int heads;

    static final int FRAMES = 8, BATCH = 2, TEXT = 77;

    private Ops ops;
    private Tensor q, k, v, out;

    @Setup
    public void setup() {
        ops = OpsBenchState.ops();
        int n = BATCH * FRAMES;
        q = OpsBenchState.rand(ops, 1, n, tokens, channels);
        int kn = kind == AttentionKind.CROSS ? BATCH : n, kl = kind == AttentionKind.CROSS ? TEXT : tokens;
        k = OpsBenchState.rand(ops, 2, kn, kl, channels);
        v = OpsBenchState.rand(ops, 3, kn, kl, channels);
        out = ops.allocate(n, tokens, channels);
    }

    @Benchmark
    public void attention() {
        ops.attention(kind, FRAMES, heads, (float) (1 / Math.sqrt(channels / heads)), q, k, v, out);
        ops.synchronize();
    }
}
