package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;
import java.util.function.BiConsumer;

import static dev.tav4j.kernels.cuda.Emu.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The forward ops a loss is built from on the tape (VAE KL and reconstruction, ε-MSE) — product, sum to one element,
 * fills from a float and from a device scalar, channel split, exp — on the CUDA backend over the emulated device
 * against the CPU backend. Tolerances (max |cuda − cpu| / max |cpu|): 0 for moves and fills, 1e-7 for products, 1e-6
 * for exp (expf vs the Vector API's), one float ulp of the total for the sum (both sum in double).
 */
public class CudaLossOpsVsCpuTest {
    private static final Ops CPU = new CpuOps();
    private final Random r = new Random(11);

    Ops target() {
        return Emu.ops();
    }

    /** Runs op on both backends over uploads of {@code inputs} plus zeroed outputs of {@code outShapes}; returns [backend][output]. */
    private float[][][] run(float[][] inputs, int[][] shapes, int[][] outShapes, BiConsumer<Ops, Tensor[]> op) {
        float[][][] got = new float[2][outShapes.length][];
        Ops[] backends = {CPU, target()};
        for (int b = 0; b < 2; b++) {
            Ops ops = backends[b];
            Tensor[] ts = new Tensor[inputs.length + outShapes.length];
            for (int i = 0; i < inputs.length; i++) {
                try (Tensor h = Tensor.of(inputs[i], shapes[i])) {
                    ts[i] = ops.upload(h);
                }
            }
            for (int o = 0; o < outShapes.length; o++) ts[inputs.length + o] = ops.allocate(outShapes[o]);
            op.accept(ops, ts);
            for (int o = 0; o < outShapes.length; o++) {
                try (Tensor h = ops.download(ts[inputs.length + o])) {
                    got[b][o] = h.toArray();
                }
            }
            for (Tensor t : ts) t.close();
        }
        return got;
    }

    @Test
    void mulAndExp() {
        int n = 1031;
        float[][][] g = run(new float[][] {Emu.random(r, n, 0), Emu.random(r, n, 0)}, new int[][] {{n}, {n}}, new int[][] {{n}, {n}},
                (ops, t) -> {
                    ops.mul(t[0], t[1], t[2]);
                    ops.activation(Activation.EXP, t[0], t[3]);
                });
        assertClose("mul", g[1][0], g[0][0], 1e-7);
        assertClose("exp", g[1][1], g[0][1], 1e-6);
    }

    /** One element, one partial block, and many blocks of partials (a 64×64 RGB batch). */
    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 300, 8 * 64 * 64 * 3 + 5})
    void sum(int n) {
        float[][][] g = run(new float[][] {Emu.random(r, n, 0.3f)}, new int[][] {{n}}, new int[][] {{1}}, (ops, t) -> ops.sum(t[0], t[1]));
        assertEquals(g[0][0][0], g[1][0][0], Math.ulp(g[0][0][0]), "sum of " + n);
    }

    @Test
    void fillsAndSplit() {
        int p = 13, ca = 4, cb = 5;
        float[][][] g = run(new float[][] {Emu.random(r, p * (ca + cb), 0), {-2.75f}}, new int[][] {{p, ca + cb}, {1}},
                new int[][] {{p, ca}, {p, cb}, {7, 3}, {2, 9}}, (ops, t) -> {
                    ops.splitChannels(t[0], t[2], t[3]);
                    ops.fill(0.5f, t[4]);
                    ops.fill(t[1], t[5]);
                });
        for (int o = 0; o < 4; o++) assertClose("output " + o, g[1][o], g[0][o], 0);
        assertEquals(-2.75f, g[1][3][17]);
        assertEquals(0.5f, g[1][2][20]);
    }

    @Test
    void shapesAreChecked() {
        Ops ops = target();
        try (Tensor a = ops.allocate(3, 4); Tensor b = ops.allocate(4, 3); Tensor two = ops.allocate(2)) {
            assertThrows(IllegalArgumentException.class, () -> ops.mul(a, b, a));
            assertThrows(IllegalArgumentException.class, () -> ops.sum(a, two));
            assertThrows(IllegalArgumentException.class, () -> ops.fill(two, a));
        }
    }
}
