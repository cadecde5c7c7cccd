package dev.tav4j.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The row-major → column-major mapping, checked by running the mapped call through a Java model of cuBLAS's
 * column-major semantics and comparing with a plain row-major GEMM. "Pointers" are element offsets into one array.
 */
class CublasGemmMappingTest {
    /** cuBLAS semantics: C(i,j) at c + i + j·ldc, column-major, op(X) = X or Xᵀ. */
    static void columnMajorGemm(float[] mem, CublasGemm.ColumnMajor g, float alpha, float beta, int batch) {
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < g.m(); i++)
                for (int j = 0; j < g.n(); j++) {
                    double s = 0;
                    for (int l = 0; l < g.k(); l++) {
                        float x = g.opA() == Cublas.OP_N ? mem[(int) (g.a() + p * g.strideA() + i + (long) l * g.lda())]
                                : mem[(int) (g.a() + p * g.strideA() + l + (long) i * g.lda())];
                        float y = g.opB() == Cublas.OP_N ? mem[(int) (g.b() + p * g.strideB() + l + (long) j * g.ldb())]
                                : mem[(int) (g.b() + p * g.strideB() + j + (long) l * g.ldb())];
                        s += (double) x * y;
                    }
                    int ci = (int) (g.c() + p * g.strideC() + i + (long) j * g.ldc());
                    mem[ci] = (float) (alpha * s + beta * mem[ci]);
                }
    }

    /** Row-major reference: A element (r, c) at a + r·lda + c. */
    static void rowMajorGemm(float[] mem, boolean ta, boolean tb, int m, int n, int k, float alpha, int a, int lda,
                             int sa, int b, int ldb, int sb, float beta, int c, int ldc, int sc, int batch) {
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        float x = ta ? mem[a + p * sa + l * lda + i] : mem[a + p * sa + i * lda + l];
                        float y = tb ? mem[b + p * sb + j * ldb + l] : mem[b + p * sb + l * ldb + j];
                        s += (double) x * y;
                    }
                    int ci = c + p * sc + i * ldc + j;
                    mem[ci] = (float) (alpha * s + beta * mem[ci]);
                }
    }

    @Test void mappedCallEqualsRowMajorGemmForAllTransposes() {
        int m = 5, n = 7, k = 3, batch = 2;
        Random rnd = new Random(42);
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
                int sa = (ta ? k : m) * lda + 4, sb = (tb ? n : k) * ldb, sc = m * ldc + 1;
                int a = 0, b = a + batch * sa, c = b + batch * sb, size = c + batch * sc;
                float[] mem = new float[size];
                for (int i = 0; i < size; i++) mem[i] = rnd.nextInt(9) - 4;
                float[] expect = mem.clone(), got = mem.clone();
                rowMajorGemm(expect, ta, tb, m, n, k, 1.5f, a, lda, sa, b, ldb, sb, 0.5f, c, ldc, sc, batch);
                CublasGemm.ColumnMajor g = CublasGemm.toColumnMajor(ta, tb, m, n, k, a, lda, sa, b, ldb, sb, c, ldc, sc);
                columnMajorGemm(got, g, 1.5f, 0.5f, batch);
                assertArrayEquals(expect, got, "transA=" + ta + " transB=" + tb);
            }
    }

    @Test void leadingDimensionsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> CublasGemm.toColumnMajor(false, false, 4, 4, 8, 0, 7, 0, 0, 4, 0, 0, 4, 0));
        assertThrows(IllegalArgumentException.class, () -> CublasGemm.toColumnMajor(false, true, 4, 5, 8, 0, 8, 0, 0, 5, 0, 0, 5, 0));
        assertThrows(IllegalArgumentException.class, () -> CublasGemm.toColumnMajor(false, false, 4, 5, 8, 0, 8, 0, 0, 5, 0, 0, 4, 0));
    }
}
