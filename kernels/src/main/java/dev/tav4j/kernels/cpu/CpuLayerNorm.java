package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.Vec.VL;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

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
            for (int r = lo; r < hi; r++) {
                long base = (long) r * d;
                FloatVector s = FloatVector.zero(Vec.S);
                for (int c0 = 0; c0 < d; c0 += VL) s = s.add(Vec.load(xs, base + c0, Vec.head(d - c0)));
                float mean = Vec.sum(s) / d;
                FloatVector mu = FloatVector.broadcast(Vec.S, mean);
                FloatVector q = FloatVector.zero(Vec.S);
                for (int c0 = 0; c0 < d; c0 += VL) {
                    VectorMask<Float> m = Vec.head(d - c0);
                    FloatVector dv = Vec.load(xs, base + c0, m).sub(mu, m);
                    q = dv.fma(dv, q);
                }
                float rstd = (float) (1.0 / Math.sqrt(Vec.sum(q) / d + (double) eps));
                FloatVector rs = FloatVector.broadcast(Vec.S, rstd);
                for (int c0 = 0; c0 < d; c0 += VL) {
                    VectorMask<Float> m = Vec.head(d - c0);
                    FloatVector y = Vec.load(xs, base + c0, m).sub(mu).mul(rs)
                            .fma(Vec.load(gs, c0, m), Vec.load(bs, c0, m));
                    Vec.store(y, os, base + c0, m);
                }
            }
        });
    }
}
