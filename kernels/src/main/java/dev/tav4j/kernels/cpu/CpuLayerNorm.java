package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/** LayerNorm over the last dimension: two passes per row (mean, then biased variance around it), in place allowed. */
final class CpuLayerNorm {
    private CpuLayerNorm() {}

    static void run(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out, boolean vector) {
        String op = "layerNorm";
        Check.host(op, "x", x);
        Check.host(op, "out", out);
        Check.that(x.rank() >= 1, op + ": x must have a last dimension");
        Check.sameShape(op, "x", x, "out", out);
        int d = x.dim(-1);
        Check.shape(op, "gamma", gamma, d);
        Check.shape(op, "beta", beta, d);
        if (d == 0) return;
        int rows = (int) (x.size() / d);
        MemorySegment xs = x.segment(), os = out.segment(), gs = gamma.segment(), bs = beta.segment();
        if (!vector) {
            Parallel.forRange(rows, Math.max(1, 8192 / d), (lo, hi) -> ScalarNorm.layerNormRows(xs, os, gs, bs, d, eps, lo, hi));
            return;
        }
        Parallel.forRange(rows, Math.max(1, 8192 / d), (lo, hi) -> {
            int dp = Floats.roundUp(d, VL);
            float[] g = Scratch.floats(0, dp), b = Scratch.floats(1, dp), row = Scratch.floats(2, dp);
            Vec.padded(gs, d, g);
            Vec.padded(bs, d, b);
            java.util.Arrays.fill(row, d, dp, 0f);
            VecNorm.layerNormRows(xs, os, g, b, row, Scratch.floats(3, dp), Scratch.floats(4, VL), d, eps, lo, hi);
        });
    }
}
