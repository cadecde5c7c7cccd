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
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Implicit-GEMM convolution vs direct loops: 3x3 and 1x1, stride 1 and 2, symmetric and bottom/right-only
 * padding, non-square images, channel counts that leave tails in both 64-wide tiles and the 16-deep K step.
 */
class CudaConvTest {
    @ParameterizedTest(name = "N={0} {1}x{2} Ci={3} Co={4} k={5} stride={6} pad={7} brOnly={8} bias={9}")
    @CsvSource({
            "2, 7, 5,  5, 70, 3, 1, 1, false, true",
            "1, 9, 6,  3,  8, 3, 2, 1, false, true",
            "2, 8, 8,  4,  6, 3, 2, 0, true,  true",
            "1, 7, 9,  4,  5, 3, 2, 0, true,  false",
            "3, 4, 3, 17, 65, 1, 1, 0, false, true",
            "1, 1, 1,  9,  3, 3, 1, 1, false, false",
    })
    void matchesDirectLoops(int n, int h, int w, int ci, int co, int k, int stride, int pad, boolean brOnly, boolean withBias) {
        Random r = new Random(h * 7 + w + ci * 13 + co);
        float[] x = Emu.random(r, n * h * w * ci, 0.2f), wt = Emu.random(r, k * k * ci * co, 0), bias = Emu.random(r, co, 0);
        int extra = brOnly ? 1 : 2 * pad, padTop = brOnly ? 0 : pad;
        int ho = (h + extra - k) / stride + 1, wo = (w + extra - k) / stride + 1;
        float[] want = Ref.conv2d(x, n, h, w, ci, wt, k, k, co, withBias ? bias : null, stride, padTop, ho, wo);
        try (Tensor tx = up(x, n, h, w, ci); Tensor tw = up(wt, k, k, ci, co); Tensor tb = up(bias, co);
             Tensor out = ops().allocate(n, ho, wo, co)) {
            ops().conv2d(tx, tw, withBias ? tb : null, stride, pad, brOnly, out);
            assertClose("conv2d", down(out), want, 1e-5);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16, 2e-2", "F16, 3e-3"})
    void halfStorage(DType dtype, double tol) {
        int n = 2, h = 6, w = 5, ci = 8, co = 12;
        Random r = new Random(11);
        float[] x = Emu.random(r, n * h * w * ci, 0), wt = Emu.random(r, 9 * ci * co, 0), bias = Emu.random(r, co, 0);
        float[] want = Ref.conv2d(x, n, h, w, ci, wt, 3, 3, co, bias, 1, 1, h, w);
        try (Tensor tx = up(x, n, h, w, ci); Tensor tw = up(wt, 3, 3, ci, co); Tensor tb = up(bias, co);
             Tensor hx = ops().convert(tx, dtype); Tensor hw = ops().convert(tw, dtype); Tensor hb = ops().convert(tb, dtype);
             Tensor out = ops().allocate(dtype, n, h, w, co)) {
            ops().conv2d(hx, hw, hb, 1, 1, false, out);
            assertClose("conv2d " + dtype, down(out), want, tol);
        }
    }

    @Test
    void rejectsWrongShapesNamingTheArgument() {
        try (Tensor x = ops().allocate(1, 4, 4, 3); Tensor w = ops().allocate(3, 3, 2, 5); Tensor out = ops().allocate(1, 4, 4, 5)) {
            var e = assertThrows(IllegalArgumentException.class, () -> ops().conv2d(x, w, null, 1, 1, false, out));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("input channels"), e.getMessage());
        }
    }
}
