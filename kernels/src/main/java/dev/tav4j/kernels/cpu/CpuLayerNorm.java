package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.S;
import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** LayerNorm over the last dimension: two passes per row (mean, then biased variance around it), in place allowed. */
final class CpuLayerNorm {
    private CpuLayerNorm() {}

    static void run(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
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
        Parallel.forRange(rows, Math.max(1, 8192 / d), (lo, hi) -> {
            int dp = Vec.roundUp(d, VL);
            float[] g = Scratch.floats(0, dp), b = Scratch.floats(1, dp), row = Scratch.floats(2, dp);
            Vec.padded(gs, d, g);
            Vec.padded(bs, d, b);
            java.util.Arrays.fill(row, d, dp, 0f);
            rows(xs, os, g, b, row, Scratch.floats(3, dp), Scratch.floats(4, VL), d, eps, lo, hi);
        });
    }

    /**
     * Rows [lo, hi), each copied into x (zero-padded to whole vectors, as gamma g and beta b are) so that every pass
     * runs whole vectors from arrays, one loop body each; y receives the row before it is copied out; the one masked operation (the centring in the variance pass, which must leave
     * the padding at zero) takes a mask that is all-true except on the last vector.
     */
    private static void rows(MemorySegment xs, MemorySegment os, float[] g, float[] b, float[] x, float[] y,
                             float[] lanes, int d, float eps, int lo, int hi) {
        int dp = Vec.roundUp(d, VL);
        for (int r = lo; r < hi; r++) {
            long base = (long) r * d;
            MemorySegment.copy(xs, Vec.F, base << 2, x, 0, d);
            FloatVector s = FloatVector.zero(S);
            for (int c0 = 0; c0 < dp; c0 += VL) s = FloatVector.fromArray(S, x, c0).add(s);
            Vec.ZERO.blend(s, Vec.ALL).intoArray(lanes, 0);
            float mean = Vec.sumLanes(lanes, 0) / d;
            FloatVector mu = FloatVector.broadcast(S, mean);
            FloatVector q = FloatVector.zero(S);
            for (int c0 = 0; c0 < dp; c0 += VL) {
                FloatVector dv = FloatVector.fromArray(S, x, c0).sub(mu, S.indexInRange(c0, d));
                q = dv.fma(dv, q);
            }
            Vec.ZERO.blend(q, Vec.ALL).intoArray(lanes, 0);
            float rstd = (float) (1.0 / Math.sqrt(Vec.sumLanes(lanes, 0) / d + (double) eps));
            FloatVector rs = FloatVector.broadcast(S, rstd);
            for (int c0 = 0; c0 < dp; c0 += VL)
                FloatVector.fromArray(S, x, c0).sub(mu).mul(rs).fma(FloatVector.fromArray(S, g, c0), FloatVector.fromArray(S, b, c0))
                        .intoArray(y, c0);
            MemorySegment.copy(y, 0, os, Vec.F, base << 2, d);
        }
    }
}
