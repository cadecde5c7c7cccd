package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * One AdamW step as PyTorch's single-tensor torch.optim.AdamW (capturable off) computes it in float32:
 * <pre>
 *   g  = grad · gradScale                                  (clip_grad_norm_ multiplies the grads)
 *   p ·= (1 − lr·wd)                                       (scalar formed in double, applied in float)
 *   m  = fma(1 − β1, g − m, m)                             (exp_avg.lerp_(g, 1 − β1), weight &lt; 0.5)
 *   v  = v·β2 + ((1 − β2)·g)·g                            (mul_ then addcmul_)
 *   p += (−lr / (1 − β1^t))·m / (√v / √(1 − β2^t) + eps)  (addcdiv_; bias corrections in double)
 * </pre>
 * The float hyper-parameters are read back as the decimal values they print as (3.0E-5 → 3e-5 in double), which
 * is what the Python floats of the reference hold.
 */
final class CpuAdamW {
    private static final int CHUNK = 1 << 14;

    private CpuAdamW() {}

    static void step(Tensor param, Tensor grad, Tensor m, Tensor v, float gradScale, float lr, float beta1, float beta2,
                     float weightDecay, float eps, int step) {
        String op = "adamW";
        Check.host(op, "param", param);
        Check.host(op, "grad", grad);
        Check.host(op, "m", m);
        Check.host(op, "v", v);
        Check.sameShape(op, "param", param, "grad", grad);
        Check.sameShape(op, "param", param, "m", m);
        Check.sameShape(op, "param", param, "v", v);
        Check.that(step >= 1, op + ": step is 1-based, got " + step);
        Check.that(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
                op + ": betas must lie in [0, 1), got " + beta1 + ", " + beta2);
        Check.that(!Check.sameBytes(m, v) && !Check.sameBytes(param, m) && !Check.sameBytes(param, v),
                op + ": param, m and v must be distinct");
        double lrD = decimal(lr), b1 = decimal(beta1), b2 = decimal(beta2);
        float decay = (float) (1 - lrD * decimal(weightDecay));
        float w1 = (float) (1 - b1), w2 = (float) (1 - b2), b2f = (float) b2;
        double bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
        float stepSize = (float) -(lrD / bc1), bc2Sqrt = (float) Math.sqrt(bc2), epsF = (float) decimal(eps);
        boolean lerpLow = w1 < 0.5f;
        MemorySegment ps = param.segment(), gs = grad.segment(), ms = m.segment(), vs = v.segment();
        long n = param.size();
        int items = (int) ((n + CHUNK - 1) / CHUNK);
        Parallel.forRange(items, 1, (lo, hi) -> {
            long end = Math.min(n, (long) hi * CHUNK);
            for (long i = (long) lo * CHUNK; i < end; i++) {
                float g = Floats.get(gs, i) * gradScale;
                float p = Floats.get(ps, i) * decay;
                float mo = Floats.get(ms, i);
                float mi = lerpLow ? Math.fma(w1, g - mo, mo) : Math.fma(w1 - 1f, g - mo, g);
                float vi = Floats.get(vs, i) * b2f;
                vi = vi + w2 * g * g;
                float denom = (float) Math.sqrt(vi) / bc2Sqrt + epsF;
                p = p + stepSize * mi / denom;
                Floats.set(ms, i, mi);
                Floats.set(vs, i, vi);
                Floats.set(ps, i, p);
            }
        });
    }

    /** The double a float literal stands for: its shortest decimal form parsed as a double. */
    static double decimal(float f) {
        return Double.parseDouble(Float.toString(f));
    }
}
