package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static dev.tav4j.kernels.cuda.Emu.assertClose;
import static dev.tav4j.kernels.cuda.Emu.down;
import static dev.tav4j.kernels.cuda.Emu.ops;
import static dev.tav4j.kernels.cuda.Emu.up;

/**
 * Every attention kind through CudaOps on the emulated device against the reference loops: odd token counts
 * (tile tails), head sizes on and between the kernel buckets (8, 20, 40, 64), one frame and several.
 * Tolerance 2e-5 (fp32 online softmax vs double).
 */
class CudaAttentionTest {
    @ParameterizedTest(name = "{0} batch={1} frames={2} L={3} Lk={4} heads={5} D={6}")
    @CsvSource({
            "SELF,          2, 1, 37, 37, 2, 40",
            "SELF,          1, 1,  5,  9, 1,  8",
            "CAUSAL,        1, 1, 35, 35, 1,  8",
            "CAUSAL,        2, 1, 40, 40, 2, 20",
            "SPARSE_CAUSAL, 1, 3, 33, 33, 2, 40",
            "SPARSE_CAUSAL, 2, 2,  9,  9, 3,  8",
            "SPARSE_CAUSAL, 1, 1, 17, 17, 1, 64",
            "CROSS,         2, 2, 13, 77, 3,  8",
            "CROSS,         1, 3, 33, 77, 2, 40",
            "TEMPORAL,      1, 5,  7,  7, 2, 40",
            "TEMPORAL,      2, 3,  5,  5, 3,  8",
            "TEMPORAL,      1, 1, 11, 11, 1, 20",
    })
    void matchesReference(AttentionKind kind, int batch, int frames, int l, int lk, int heads, int d) {
        int n = batch * frames, c = heads * d;
        int nk = kind == AttentionKind.CROSS ? batch : n;
        Random r = new Random(kind.ordinal() * 1000 + l * 31 + d);
        float[] q = Emu.random(r, n * l * c, 0), k = Emu.random(r, nk * lk * c, 0), v = Emu.random(r, nk * lk * c, 0.5f);
        float scale = (float) (1 / Math.sqrt(d));
        float[] want = Ref.attention(kind, frames, heads, scale, q, k, v, n, l, c, lk);
        try (Tensor tq = up(q, n, l, c); Tensor tk = up(k, nk, lk, c); Tensor tv = up(v, nk, lk, c);
             Tensor out = ops().allocate(n, l, c)) {
            ops().attention(kind, frames, heads, scale, tq, tk, tv, out);
            assertClose(kind + " D=" + d, down(out), want, 2e-5);
        }
    }

    /** The half-precision variants: same kernels with bf16 / fp16 storage and fp32 math. */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"SPARSE_CAUSAL, BF16, 2e-2", "SPARSE_CAUSAL, F16, 3e-3", "TEMPORAL, BF16, 2e-2", "CROSS, F16, 3e-3"})
    void halfStorage(AttentionKind kind, DType dtype, double tol) {
        int frames = 3, n = 3, l = 21, heads = 2, d = 40, c = heads * d, lk = kind == AttentionKind.CROSS ? 77 : l;
        int nk = kind == AttentionKind.CROSS ? 1 : n;
        Random r = new Random(7);
        float[] q = Emu.random(r, n * l * c, 0), k = Emu.random(r, nk * lk * c, 0), v = Emu.random(r, nk * lk * c, 0);
        float scale = (float) (1 / Math.sqrt(d));
        float[] want = Ref.attention(kind, frames, heads, scale, q, k, v, n, l, c, lk);
        try (Tensor tq = up(q, n, l, c); Tensor tk = up(k, nk, lk, c); Tensor tv = up(v, nk, lk, c);
             Tensor hq = ops().convert(tq, dtype); Tensor hk = ops().convert(tk, dtype); Tensor hv = ops().convert(tv, dtype);
             Tensor out = ops().allocate(dtype, n, l, c)) {
            ops().attention(kind, frames, heads, scale, hq, hk, hv, out);
            assertClose(kind + " " + dtype, down(out), want, tol);
        }
    }
}
