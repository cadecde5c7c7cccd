package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static dev.tav4j.kernels.cuda.Emu.assertClose;
import static dev.tav4j.kernels.cuda.Emu.down;
import static dev.tav4j.kernels.cuda.Emu.ops;
import static dev.tav4j.kernels.cuda.Emu.up;

/** GroupNorm (per frame, pooled over frames, with and without SiLU, in place) and LayerNorm vs the reference loops. */
class CudaNormTest {
    @ParameterizedTest(name = "N={0} H={1} W={2} C={3} groups={4} pooled={5} silu={6}")
    @CsvSource({
            "4, 5,  3, 12, 4, 1, false",
            "4, 5,  3, 12, 4, 2, true",
            "3, 7,  1,  6, 3, 3, true",
            "1, 1,  1,  8, 8, 1, false",
            "2, 33, 32, 8, 2, 2, true",   // 16896 elements per group: several partial blocks merged
    })
    void groupNorm(int n, int h, int w, int c, int groups, int pooled, boolean silu) {
        Random r = new Random(n * 100 + h + c);
        float[] x = Emu.random(r, n * h * w * c, 3f);  // a large mean: the variance must not cancel
        float[] gamma = Emu.random(r, c, 1f), beta = Emu.random(r, c, 0f);
        float[] want = Ref.groupNorm(x, n, (long) h * w, c, groups, pooled, gamma, beta, 1e-5f, silu);
        try (Tensor tx = up(x, n, h, w, c); Tensor tg = up(gamma, c); Tensor tb = up(beta, c); Tensor out = ops().allocate(n, h, w, c)) {
            ops().groupNorm(tx, groups, pooled, tg, tb, 1e-5f, silu, out);
            assertClose("groupNorm", down(out), want, 2e-5);
            ops().groupNorm(tx, groups, pooled, tg, tb, 1e-5f, silu, tx);  // in place
            assertClose("groupNorm in place", down(tx), want, 2e-5);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16, 1.5e-2", "F16, 2e-3"})
    void groupNormHalf(DType dtype, double tol) {
        int n = 4, h = 6, w = 5, c = 16, groups = 4;
        Random r = new Random(3);
        float[] x = Emu.random(r, n * h * w * c, 0.5f), gamma = Emu.random(r, c, 1f), beta = Emu.random(r, c, 0f);
        float[] want = Ref.groupNorm(x, n, (long) h * w, c, groups, 2, gamma, beta, 1e-6f, true);
        try (Tensor tx = up(x, n, h, w, c); Tensor tg = up(gamma, c); Tensor tb = up(beta, c);
             Tensor hx = ops().convert(tx, dtype); Tensor hg = ops().convert(tg, dtype); Tensor hb = ops().convert(tb, dtype);
             Tensor out = ops().allocate(dtype, n, h, w, c)) {
            ops().groupNorm(hx, groups, 2, hg, hb, 1e-6f, true, out);
            assertClose("groupNorm " + dtype, down(out), want, tol);
        }
    }

    @Test
    void layerNorm() {
        int rows = 13, c = 77;
        Random r = new Random(5);
        float[] x = Emu.random(r, rows * c, -2f), gamma = Emu.random(r, c, 1f), beta = Emu.random(r, c, 0f);
        float[] want = Ref.layerNorm(x, c, gamma, beta, 1e-5f);
        try (Tensor tx = up(x, 1, rows, c); Tensor tg = up(gamma, c); Tensor tb = up(beta, c); Tensor out = ops().allocate(1, rows, c)) {
            ops().layerNorm(tx, tg, tb, 1e-5f, out);
            assertClose("layerNorm", down(out), want, 2e-5);
            ops().layerNorm(tx, tg, tb, 1e-5f, tx);
            assertClose("layerNorm in place", down(tx), want, 2e-5);
        }
    }
}
