package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Backward of attention over frames. A work item is one (batch item, token): it gathers the F rows of q, k, v
 * and dO, and per head recomputes the F × F softmax and accumulates dQ, dK, dV of all F frames locally, so
 * every output row has one writer. The scalar twin of {@link TemporalLaneAttentionGrad}, run without the Vector API.
 */
final class CpuTemporalAttentionGrad {
    private CpuTemporalAttentionGrad() {}

    static void run(int frames, int heads, float scale, Tensor q, Tensor k, Tensor v, Tensor dOut, Tensor dQ, Tensor dK,
                    Tensor dV) {
        int n = q.dim(0), l = q.dim(1), c = q.dim(2), hs = c / heads, f = frames, batch = n / frames;
        MemorySegment qs = q.segment(), ks = k.segment(), vs = v.segment(), os = dOut.segment(), dqs = dQ.segment();
        MemorySegment dks = dK == null ? null : dK.segment(), dvs = dV == null ? null : dV.segment();
        long image = (long) l * c;
        int fc = f * c;
        Parallel.forRange(batch * l, Math.max(1, 2048 / Math.max(1, fc)), (lo, hi) -> {
            float[] buf = Scratch.floats(0, 7 * fc + 2 * f);
            int qa = 0, ka = fc, va = 2 * fc, oa = 3 * fc, dq = 4 * fc, dk = 5 * fc, dv = 6 * fc, p = 7 * fc, dp = p + f;
            for (int item = lo; item < hi; item++) {
                int b = item / l, tok = item % l;
                for (int g = 0; g < f; g++) {
                    long row = ((b * (long) f + g) * image + (long) tok * c) << 2;
                    MemorySegment.copy(qs, Floats.F, row, buf, qa + g * c, c);
                    MemorySegment.copy(ks, Floats.F, row, buf, ka + g * c, c);
                    MemorySegment.copy(vs, Floats.F, row, buf, va + g * c, c);
                    MemorySegment.copy(os, Floats.F, row, buf, oa + g * c, c);
                }
                java.util.Arrays.fill(buf, dq, p, 0f);
                for (int h = 0; h < heads; h++) {
                    int col = h * hs;
                    for (int fi = 0; fi < f; fi++) {
                        int qr = fi * c + col;
                        float max = Float.NEGATIVE_INFINITY;
                        for (int g = 0; g < f; g++) {
                            float s = 0, d = 0;
                            for (int i = 0; i < hs; i++) {
                                s += buf[qa + qr + i] * scale * buf[ka + g * c + col + i];
                                d += buf[oa + qr + i] * buf[va + g * c + col + i];
                            }
                            buf[p + g] = s;
                            buf[dp + g] = d;
                            max = Math.max(max, s);
                        }
                        float sum = 0;
                        for (int g = 0; g < f; g++) { buf[p + g] = (float) Math.exp(buf[p + g] - max); sum += buf[p + g]; }
                        float inv = 1f / sum, dsum = 0;
                        for (int g = 0; g < f; g++) { buf[p + g] *= inv; dsum += buf[p + g] * buf[dp + g]; }
                        for (int g = 0; g < f; g++) {
                            float pg = buf[p + g], ds = pg * (buf[dp + g] - dsum) * scale;
                            int kr = g * c + col;
                            for (int i = 0; i < hs; i++) {
                                buf[dq + qr + i] += ds * buf[ka + kr + i];
                                buf[dk + kr + i] += ds * buf[qa + qr + i];
                                buf[dv + kr + i] += pg * buf[oa + qr + i];
                            }
                        }
                    }
                }
                for (int g = 0; g < f; g++) {
                    long row = ((b * (long) f + g) * image + (long) tok * c) << 2;
                    MemorySegment.copy(buf, dq + g * c, dqs, Floats.F, row, c);
                    if (dks != null) MemorySegment.copy(buf, dk + g * c, dks, Floats.F, row, c);
                    if (dvs != null) MemorySegment.copy(buf, dv + g * c, dvs, Floats.F, row, c);
                }
            }
        });
    }
}
