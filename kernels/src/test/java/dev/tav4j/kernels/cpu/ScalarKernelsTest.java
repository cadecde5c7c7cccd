package dev.tav4j.kernels.cpu;

import static dev.tav4j.kernels.cpu.TestData.assertClose;
import static dev.tav4j.kernels.cpu.TestData.d;
import static dev.tav4j.kernels.cpu.TestData.rand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Every CPU op, scalar twins (the settings' Vector API switch off) against the Vector API kernels, in one JVM, on
 * random inputs and edge shapes: odd sizes, sizes below, at and past a vector and a GEMM tile. The two differ only in
 * the order of float additions, fused multiply-adds and e^x (the Vector API's against Math.exp), so they agree to
 * about 1e-6 of the largest output; the tolerance is {@link #TOL}. Outputs of the scalar run start as NaN, so an
 * element it does not write fails.
 */
class ScalarKernelsTest {
    static final double TOL = 2e-5;
    final CpuOps vec = new CpuOps();
    final CpuOps scalar = new CpuOps(BackendSettings.DEFAULTS.withCpuVectorApi(false));

    /** One op call on given inputs and outputs. */
    interface Call {
        void run(Ops ops, GradOps g, Tensor[] in, Tensor[] out);
    }

    /**
     * Runs {@code call} on both backends with the same inputs; outputs start equal and random when {@code accumulates}
     * (the op adds to them), else NaN for the scalar run. Compares every output.
     */
    void same(String what, Tensor[] in, int[][] outShapes, boolean accumulates, Call call) {
        Random rnd = new Random(what.hashCode());
        Tensor[] a = new Tensor[outShapes.length], b = new Tensor[outShapes.length];
        for (int i = 0; i < outShapes.length; i++) {
            a[i] = rand(rnd, outShapes[i]);
            b[i] = Tensor.host(outShapes[i]);
            if (accumulates) b[i].copyFrom(a[i]);
            else b[i].fill(Float.NaN);
        }
        call.run(vec, vec.grad(), in, a);
        call.run(scalar, scalar.grad(), in, b);
        for (int i = 0; i < a.length; i++) assertClose(what + " output " + i, d(a[i]), b[i], TOL);
    }

    static int[][] shapes(int[]... s) {
        return s;
    }

    @Test
    void theSurefireJvmRunsTheVectorKernelsAndTheSettingTurnsThemOff() {
        assertTrue(VectorApi.PRESENT, "the tests' JVM has --add-modules jdk.incubator.vector (tav.jvm.flags)");
        assertTrue(vec.vectorApi(), "the default settings use the Vector API where it is present");
        assertFalse(scalar.vectorApi());
        assertTrue(BackendSettings.DEFAULTS.cpuVectorApi());
        assertFalse(BackendSettings.fromSystem(java.util.Map.of("tav.cpu.vectorApi", "false")::get, k -> null).cpuVectorApi());
        assertFalse(BackendSettings.fromSystem(k -> null, java.util.Map.of("TAV_CPU_VECTOR_API", "0")::get).cpuVectorApi());
        assertTrue(new CpuBackendProvider().probe(BackendSettings.DEFAULTS.withCpuVectorApi(false)).reason().contains("scalar loops"));
    }

    @Test
    void matmulAndItsGradients() {
        Random rnd = new Random(1);
        int[][] mkn = {{1, 1, 1}, {3, 7, 5}, {5, 33, 70}, {17, 64, 130}, {64, 96, 320}, {9, 300, 16}};
        for (int[] s : mkn) {
            int m = s[0], k = s[1], n = s[2];
            Tensor a = rand(rnd, m, k), w = rand(rnd, k, n), bias = rand(rnd, n), dy = rand(rnd, m, n);
            String at = " m" + m + " k" + k + " n" + n;
            same("matmul" + at, new Tensor[] {a, w, bias}, shapes(new int[] {m, n}), false,
                    (o, g, in, out) -> o.matmul(in[0], in[1], in[2], out[0]));
            same("matmul no bias" + at, new Tensor[] {a, w}, shapes(new int[] {m, n}), false,
                    (o, g, in, out) -> o.matmul(in[0], in[1], null, out[0]));
            same("matmulBackwardInput" + at, new Tensor[] {dy, w}, shapes(new int[] {m, k}), false,
                    (o, g, in, out) -> g.matmulBackwardInput(in[0], in[1], out[0]));
            same("matmulBackwardWeight" + at, new Tensor[] {a, dy}, shapes(new int[] {k, n}, new int[] {n}), true,
                    (o, g, in, out) -> g.matmulBackwardWeight(in[0], in[1], out[0], out[1]));
            same("addChannelBiasBackward" + at, new Tensor[] {dy.reshape(m, 1, 1, n)}, shapes(new int[] {m, n}), false,
                    (o, g, in, out) -> g.addChannelBiasBackward(in[0], 1, out[0]));
        }
    }

    @Test
    void convolutionAndItsGradients() {
        Random rnd = new Random(2);
        // n, h, w, ci, co, k, stride, padding, padBottomRightOnly
        int[][] cases = {{1, 5, 6, 3, 5, 3, 1, 1, 0}, {2, 8, 8, 8, 16, 3, 2, 1, 0}, {1, 7, 9, 5, 33, 1, 1, 0, 0},
                {2, 8, 6, 4, 7, 3, 2, 0, 1}, {1, 6, 6, 17, 40, 3, 1, 1, 0}};
        for (int[] c : cases) {
            int n = c[0], h = c[1], wd = c[2], ci = c[3], co = c[4], kk = c[5], s = c[6], p = c[7];
            boolean br = c[8] == 1;
            int hp = h + (br ? 1 : 2 * p), wp = wd + (br ? 1 : 2 * p), ho = (hp - kk) / s + 1, wo = (wp - kk) / s + 1;
            Tensor x = rand(rnd, n, h, wd, ci), w = rand(rnd, kk, kk, ci, co), bias = rand(rnd, co), dy = rand(rnd, n, ho, wo, co);
            String at = " " + java.util.Arrays.toString(c);
            same("conv2d" + at, new Tensor[] {x, w, bias}, shapes(new int[] {n, ho, wo, co}), false,
                    (o, g, in, out) -> o.conv2d(in[0], in[1], in[2], s, p, br, out[0]));
            same("conv2dBackwardInput" + at, new Tensor[] {dy, w}, shapes(new int[] {n, h, wd, ci}), false,
                    (o, g, in, out) -> g.conv2dBackwardInput(in[0], in[1], s, p, br, out[0]));
            same("conv2dBackwardWeight" + at, new Tensor[] {x, dy}, shapes(new int[] {kk, kk, ci, co}, new int[] {co}), true,
                    (o, g, in, out) -> g.conv2dBackwardWeight(in[0], in[1], s, p, br, out[0], out[1]));
        }
    }

    @Test
    void normsAndTheirGradients() {
        Random rnd = new Random(3);
        // n, pixels, c, groups, framesPooled
        int[][] gn = {{2, 5, 6, 3, 1}, {4, 16, 40, 8, 2}, {2, 9, 35, 5, 2}, {1, 70, 64, 32, 1}};
        for (int[] s : gn)
            for (boolean silu : new boolean[] {false, true}) {
                int n = s[0], px = s[1], c = s[2], groups = s[3], fp = s[4];
                Tensor x = rand(rnd, 0.3f, n, px, c), gamma = rand(rnd, 1f, c), beta = rand(rnd, c), dy = rand(rnd, n, px, c);
                String at = " " + java.util.Arrays.toString(s) + (silu ? " silu" : "");
                same("groupNorm" + at, new Tensor[] {x, gamma, beta}, shapes(new int[] {n, px, c}), false,
                        (o, g, in, out) -> o.groupNorm(in[0], groups, fp, in[1], in[2], 1e-5f, silu, out[0]));
                same("groupNormBackward" + at, new Tensor[] {x, gamma, beta, dy}, shapes(new int[] {n, px, c}), false,
                        (o, g, in, out) -> g.groupNormBackward(in[0], groups, fp, in[1], in[2], 1e-5f, silu, in[3], out[0]));
                same("groupNormBackwardAffine" + at, new Tensor[] {x, gamma, beta, dy}, shapes(new int[] {c}, new int[] {c}), true,
                        (o, g, in, out) -> g.groupNormBackwardAffine(in[0], groups, fp, in[1], in[2], 1e-5f, silu, in[3], out[0], out[1]));
            }
        for (int[] s : new int[][] {{3, 1}, {5, 7}, {4, 33}, {77, 320}, {130, 16}}) {
            int rows = s[0], dd = s[1];
            Tensor x = rand(rnd, 0.5f, rows, dd), gamma = rand(rnd, 1f, dd), beta = rand(rnd, dd), dy = rand(rnd, rows, dd);
            String at = " rows " + rows + " d " + dd;
            same("layerNorm" + at, new Tensor[] {x, gamma, beta}, shapes(new int[] {rows, dd}), false,
                    (o, g, in, out) -> o.layerNorm(in[0], in[1], in[2], 1e-5f, out[0]));
            if (dd > 1) same("layerNormBackward" + at, new Tensor[] {x, gamma, dy}, shapes(new int[] {rows, dd}), false,
                    (o, g, in, out) -> g.layerNormBackward(in[0], in[1], 1e-5f, in[2], out[0]));
            same("layerNormBackwardAffine" + at, new Tensor[] {x, gamma, dy}, shapes(new int[] {dd}, new int[] {dd}), true,
                    (o, g, in, out) -> g.layerNormBackwardAffine(in[0], in[1], 1e-5f, in[2], out[0], out[1]));
            same("layerNormBackwardAffine beta only" + at, new Tensor[] {x, gamma, dy}, shapes(new int[] {dd}), true,
                    (o, g, in, out) -> g.layerNormBackwardAffine(in[0], in[1], 1e-5f, in[2], null, out[0]));
        }
    }

    @Test
    void attentionOfEveryKindAndItsGradient() {
        Random rnd = new Random(4);
        // n, lq, lk, c, heads, frames
        int[][] cases = {{2, 5, 5, 6, 2, 2}, {4, 17, 17, 40, 5, 2}, {3, 33, 33, 24, 1, 3}, {2, 64, 64, 64, 8, 2}};
        for (int[] s : cases)
            for (AttentionKind kind : AttentionKind.values()) {
                int n = s[0], lq = s[1], c = s[3], heads = s[4], frames = s[5];
                int kn = kind == AttentionKind.CROSS ? n / frames : n, lk = kind == AttentionKind.CROSS ? 7 : s[2];
                Tensor q = rand(rnd, n, lq, c), k = rand(rnd, kn, lk, c), v = rand(rnd, kn, lk, c), dout = rand(rnd, n, lq, c);
                float scale = (float) (1 / Math.sqrt(c / heads));
                String at = " " + kind + " " + java.util.Arrays.toString(s);
                same("attention" + at, new Tensor[] {q, k, v}, shapes(new int[] {n, lq, c}), false,
                        (o, g, in, out) -> o.attention(kind, frames, heads, scale, in[0], in[1], in[2], out[0]));
                same("attentionBackward" + at, new Tensor[] {q, k, v, dout},
                        shapes(new int[] {n, lq, c}, new int[] {kn, lk, c}, new int[] {kn, lk, c}), false,
                        (o, g, in, out) -> g.attentionBackward(kind, frames, heads, scale, in[0], in[1], in[2], in[3], out[0], out[1], out[2]));
            }
    }

    @Test
    void pointwiseAndLayoutOps() {
        Random rnd = new Random(5);
        for (int len : new int[] {1, 7, 16, 33, 1500, 70_000}) {
            Tensor x = rand(rnd, 3, len), y = rand(rnd, 3, len), dy = rand(rnd, 3, len);
            String at = " len " + len;
            for (Activation act : Activation.values()) {
                same(act + at, new Tensor[] {x}, shapes(new int[] {3, len}), false, (o, g, in, out) -> o.activation(act, in[0], out[0]));
                same(act + " backward" + at, new Tensor[] {x, dy}, shapes(new int[] {3, len}), false,
                        (o, g, in, out) -> g.activationBackward(act, in[0], in[1], out[0]));
            }
            same("axpby" + at, new Tensor[] {x, y}, shapes(new int[] {3, len}), false, (o, g, in, out) -> o.axpby(0.3f, in[0], -1.7f, in[1], out[0]));
            same("mul" + at, new Tensor[] {x, y}, shapes(new int[] {3, len}), false, (o, g, in, out) -> o.mul(in[0], in[1], out[0]));
            same("sum" + at, new Tensor[] {x}, shapes(new int[] {1}), false, (o, g, in, out) -> o.sum(in[0], out[0]));
        }
        for (int d : new int[] {1, 5, 16, 33, 1100}) {
            Tensor x = rand(rnd, 4, 2 * d), dy = rand(rnd, 4, d);
            same("geglu d " + d, new Tensor[] {x}, shapes(new int[] {4, d}), false, (o, g, in, out) -> o.geglu(in[0], out[0]));
            same("gegluBackward d " + d, new Tensor[] {x, dy}, shapes(new int[] {4, 2 * d}), false,
                    (o, g, in, out) -> g.gegluBackward(in[0], in[1], out[0]));
        }
        for (int c : new int[] {1, 5, 16, 35}) {
            Tensor x = rand(rnd, 4, 3, 5, c), rows = rand(rnd, 2, c), up = rand(rnd, 4, 6, 10, c), odd = rand(rnd, 4, 7, 11, c);
            same("addChannelBias c " + c, new Tensor[] {x, rows}, shapes(new int[] {4, 3, 5, c}), false,
                    (o, g, in, out) -> o.addChannelBias(in[0], in[1], 2, out[0]));
            same("upsampleNearest c " + c, new Tensor[] {x}, shapes(new int[] {4, 6, 10, c}), false,
                    (o, g, in, out) -> o.upsampleNearest(in[0], out[0]));
            same("upsampleNearestBackward c " + c, new Tensor[] {up}, shapes(new int[] {4, 3, 5, c}), false,
                    (o, g, in, out) -> g.upsampleNearestBackward(in[0], out[0]));
            same("upsampleNearestBackward 7x11 c " + c, new Tensor[] {odd}, shapes(new int[] {4, 3, 5, c}), false,
                    (o, g, in, out) -> g.upsampleNearestBackward(in[0], out[0]));
            same("concat c " + c, new Tensor[] {x, x}, shapes(new int[] {4, 3, 5, 2 * c}), false,
                    (o, g, in, out) -> o.concatChannels(in[0], in[1], out[0]));
            same("permute c " + c, new Tensor[] {x}, shapes(new int[] {c, 5, 4, 3}), false,
                    (o, g, in, out) -> o.permute(in[0], new int[] {3, 2, 0, 1}, out[0]));
        }
        same("timestepEmbedding", new Tensor[0], shapes(new int[] {3, 33}), false,
                (o, g, in, out) -> o.timestepEmbedding(new float[] {1, 500, 999}, 33, true, 1f, out[0]));
        Tensor p = rand(rnd, 1000), gr = rand(rnd, 1000);
        same("adamW", new Tensor[] {gr}, shapes(new int[] {1000}, new int[] {1000}, new int[] {1000}), true, (o, g, in, out) -> {
            for (int i = 0; i < 1000; i++) out[2].set(i, Math.abs(out[2].get(i)));  // v ≥ 0
            g.adamW(out[0], in[0], out[1], out[2], 0.5f, 1e-3f, 0.9f, 0.999f, 0.01f, 1e-8f, 3);
        });
        assertEquals(g(vec, p), g(scalar, p), 0.0, "sumOfSquares is the same scalar code");
    }

    private static double g(CpuOps ops, Tensor x) {
        return ops.grad().sumOfSquares(x);
    }
}
