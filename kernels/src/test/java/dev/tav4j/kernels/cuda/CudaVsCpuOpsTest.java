package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;
import java.util.function.BiConsumer;

import static dev.tav4j.kernels.cuda.Emu.assertClose;

/**
 * The CUDA backend (on the emulated device) against the CPU backend, the project's reference, on the same
 * inputs: small odd shapes, every attention kind, GroupNorm pooled and per frame, conv stride 1 and 2.
 * Tolerances (max |cuda − cpu| / max |cpu|): 3e-5 for attention and norms, 1e-5 for conv, 2e-4 for the
 * timestep embedding (float32 phase error at arguments near 1000).
 */
public class CudaVsCpuOpsTest {
    private static final Ops CPU = new CpuOps();

    /** The CUDA backend under test: over the emulated device here, over a real GPU in {@link CudaVsCpuOpsGpuTest}. */
    Ops target() {
        return Emu.ops();
    }
    private final Random r = new Random(2024);

    /** Runs {@code op} on both backends over copies of the host inputs and compares the output. */
    private void compare(String what, double tol, float[][] inputs, int[][] shapes, int[] outShape, BiConsumer<Ops, Tensor[]> op) {
        float[][] results = new float[2][];
        Ops[] backends = {CPU, target()};
        for (int b = 0; b < 2; b++) {
            Ops ops = backends[b];
            Tensor[] ts = new Tensor[inputs.length + 1];
            for (int i = 0; i < inputs.length; i++) {
                try (Tensor h = Tensor.of(inputs[i], shapes[i])) {
                    ts[i] = ops.upload(h);
                }
            }
            ts[inputs.length] = ops.allocate(outShape);
            op.accept(ops, ts);
            try (Tensor h = ops.download(ts[inputs.length])) {
                results[b] = h.toArray();
            }
            for (Tensor t : ts) t.close();
        }
        assertClose(what, results[1], results[0], tol);
    }

    @ParameterizedTest(name = "{0} batch={1} frames={2} L={3} heads={4} D={5}")
    @CsvSource({
            "SELF, 2, 1, 19, 2, 40", "CAUSAL, 1, 1, 35, 3, 8", "SPARSE_CAUSAL, 2, 3, 17, 2, 40",
            "SPARSE_CAUSAL, 1, 1, 9, 1, 8", "CROSS, 2, 2, 11, 2, 40", "TEMPORAL, 2, 3, 6, 2, 8", "TEMPORAL, 1, 4, 5, 1, 40",
    })
    void attention(AttentionKind kind, int batch, int frames, int l, int heads, int d) {
        int n = batch * frames, c = heads * d, lk = kind == AttentionKind.CROSS ? 77 : l, nk = kind == AttentionKind.CROSS ? batch : n;
        float scale = (float) (1 / Math.sqrt(d));
        compare("attention " + kind, 3e-5,
                new float[][] {Emu.random(r, n * l * c, 0), Emu.random(r, nk * lk * c, 0), Emu.random(r, nk * lk * c, 0)},
                new int[][] {{n, l, c}, {nk, lk, c}, {nk, lk, c}}, new int[] {n, l, c},
                (ops, t) -> ops.attention(kind, frames, heads, scale, t[0], t[1], t[2], t[3]));
    }

    @ParameterizedTest(name = "N={0} pooled={1} silu={2}")
    @CsvSource({"4, 1, false", "4, 2, true", "3, 3, true"})
    void groupNorm(int n, int pooled, boolean silu) {
        int h = 5, w = 3, c = 12;
        compare("groupNorm", 3e-5,
                new float[][] {Emu.random(r, n * h * w * c, 2f), Emu.random(r, c, 1f), Emu.random(r, c, 0)},
                new int[][] {{n, h, w, c}, {c}, {c}}, new int[] {n, h, w, c},
                (ops, t) -> ops.groupNorm(t[0], 4, pooled, t[1], t[2], 1e-5f, silu, t[3]));
    }

    @ParameterizedTest(name = "k={0} stride={1} pad={2} brOnly={3}")
    @CsvSource({"3, 1, 1, false", "3, 2, 1, false", "3, 2, 0, true", "1, 1, 0, false"})
    void conv2d(int k, int stride, int pad, boolean brOnly) {
        int n = 2, h = 7, w = 6, ci = 5, co = 9;
        int extra = brOnly ? 1 : 2 * pad;
        int ho = (h + extra - k) / stride + 1, wo = (w + extra - k) / stride + 1;
        compare("conv2d", 1e-5,
                new float[][] {Emu.random(r, n * h * w * ci, 0), Emu.random(r, k * k * ci * co, 0), Emu.random(r, co, 0)},
                new int[][] {{n, h, w, ci}, {k, k, ci, co}, {co}}, new int[] {n, ho, wo, co},
                (ops, t) -> ops.conv2d(t[0], t[1], t[2], stride, pad, brOnly, t[3]));
    }

    @Test
    void layerNormGegluTimestepUpsample() {
        compare("layerNorm", 3e-5, new float[][] {Emu.random(r, 5 * 33, 1f), Emu.random(r, 33, 1f), Emu.random(r, 33, 0)},
                new int[][] {{5, 33}, {33}, {33}}, new int[] {5, 33}, (ops, t) -> ops.layerNorm(t[0], t[1], t[2], 1e-5f, t[3]));
        compare("geglu", 1e-6, new float[][] {Emu.random(r, 4 * 18, 0)}, new int[][] {{4, 18}}, new int[] {4, 9},
                (ops, t) -> ops.geglu(t[0], t[1]));
        compare("timestepEmbedding", 2e-4, new float[0][], new int[0][], new int[] {3, 33},
                (ops, t) -> ops.timestepEmbedding(new float[] {1f, 500f, 981f}, 33, true, 1f, t[0]));
        compare("upsampleNearest", 0, new float[][] {Emu.random(r, 2 * 3 * 5 * 4, 0)}, new int[][] {{2, 3, 5, 4}},
                new int[] {2, 6, 10, 4}, (ops, t) -> ops.upsampleNearest(t[0], t[1]));
        compare("permute", 0, new float[][] {Emu.random(r, 2 * 3 * 4 * 5, 0)}, new int[][] {{2, 3, 4, 5}},
                new int[] {4, 2, 5, 3}, (ops, t) -> ops.permute(t[0], new int[] {2, 0, 3, 1}, t[1]));
    }
}
