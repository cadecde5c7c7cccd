package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Parallel;
import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Data movement: permute, channel concat, row gather, copy and nearest upsampling. */
final class CpuLayout {
    private CpuLayout() {}

    static void permute(Tensor x, int[] perm, Tensor out) {
        String op = "permute";
        Check.host(op, "x", x);
        Check.host(op, "out", out);
        int r = x.rank();
        Check.that(perm != null && perm.length == r, op + ": perm " + Arrays.toString(perm) + " must have " + r + " entries for x " + x);
        boolean[] seen = new boolean[r];
        int[] expect = new int[r];
        for (int i = 0; i < r; i++) {
            Check.that(perm[i] >= 0 && perm[i] < r && !seen[perm[i]], op + ": perm " + Arrays.toString(perm) + " is not a permutation");
            seen[perm[i]] = true;
            expect[i] = x.dim(perm[i]);
        }
        Check.shape(op, "out", out, expect);
        Check.that(!Check.sameBytes(x, out) || x.size() <= 1, op + ": out must not alias x");
        if (x.size() == 0) return;
        long[] inStride = new long[r];
        for (int i = r - 1; i >= 0; i--) inStride[i] = i == r - 1 ? 1 : inStride[i + 1] * x.dim(i + 1);
        long[] st = new long[r]; // input stride of each output dimension
        for (int i = 0; i < r; i++) st[i] = inStride[perm[i]];
        int inner = r == 0 ? 1 : expect[r - 1];
        long innerStride = r == 0 ? 1 : st[r - 1];
        int outer = (int) (x.size() / inner);
        MemorySegment xs = x.segment(), os = out.segment();
        Parallel.forRange(outer, Math.max(1, 8192 / inner), (lo, hi) -> {
            for (int o = lo; o < hi; o++) {
                long src = 0, rem = o;
                for (int i = r - 2; i >= 0; i--) {
                    long d = rem % expect[i];
                    rem /= expect[i];
                    src += d * st[i];
                }
                long dst = (long) o * inner;
                if (innerStride == 1) {
                    MemorySegment.copy(xs, src << 2, os, dst << 2, (long) inner << 2);
                } else {
                    for (int j = 0; j < inner; j++) Floats.set(os, dst + j, Floats.get(xs, src + j * innerStride));
                }
            }
        });
    }

    static void concatChannels(Tensor a, Tensor b, Tensor out) {
        String op = "concatChannels";
        Check.host(op, "a", a);
        Check.host(op, "b", b);
        Check.host(op, "out", out);
        Check.that(a.rank() >= 1 && a.rank() == b.rank(), op + ": a " + a + " and b " + b + " must have the same rank");
        int ca = a.dim(-1), cb = b.dim(-1);
        int[] lead = Arrays.copyOf(a.shape(), a.rank() - 1);
        Check.that(Arrays.equals(lead, Arrays.copyOf(b.shape(), b.rank() - 1)),
                op + ": a " + a + " and b " + b + " differ before the last dimension");
        int[] expect = a.shape();
        expect[expect.length - 1] = ca + cb;
        Check.shape(op, "out", out, expect);
        int c = ca + cb;
        if (c == 0) return;
        int rows = (int) (out.size() / c);
        MemorySegment as = a.segment(), bs = b.segment(), os = out.segment();
        Parallel.forRange(rows, Math.max(1, 8192 / c), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                MemorySegment.copy(as, (long) r * ca * 4, os, (long) r * c * 4, (long) ca * 4);
                MemorySegment.copy(bs, (long) r * cb * 4, os, ((long) r * c + ca) * 4, (long) cb * 4);
            }
        });
    }

    static void gatherRows(Tensor table, int[] ids, Tensor out) {
        String op = "gatherRows";
        Check.rank(op, "table", table, 2);
        Check.that(ids != null, op + ": ids is null");
        int v = table.dim(0), d = table.dim(1);
        Check.shape(op, "out", out, ids.length, d);
        MemorySegment ts = table.segment(), os = out.segment();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= v)
                throw new IndexOutOfBoundsException(op + ": ids[" + i + "] = " + ids[i] + " outside the table's " + v + " rows");
            MemorySegment.copy(ts, (long) ids[i] * d * 4, os, (long) i * d * 4, (long) d * 4);
        }
    }

    static void copy(Tensor src, Tensor dst) {
        String op = "copy";
        Check.host(op, "src", src);
        Check.host(op, "dst", dst);
        Check.sameSize(op, "src", src, "dst", dst);
        MemorySegment.copy(src.segment(), 0, dst.segment(), 0, src.size() * 4);
    }

    static void upsampleNearest(Tensor x, Tensor out) {
        String op = "upsampleNearest";
        Check.rank(op, "x", x, 4);
        Check.rank(op, "out", out, 4);
        int n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3), ho = out.dim(1), wo = out.dim(2);
        Check.that(out.dim(0) == n && out.dim(3) == c, op + ": out " + out + " must keep N and C of x " + x);
        if (out.size() == 0) return;
        Check.that(h > 0 && w > 0, op + ": x " + x + " is empty");
        MemorySegment xs = x.segment(), os = out.segment();
        long cb = (long) c * 4;
        Parallel.forRange(n * ho, Math.max(1, 4096 / Math.max(1, wo * c)), (lo, hi) -> {
            for (int row = lo; row < hi; row++) {
                int img = row / ho, oy = row - img * ho;
                int iy = (int) ((long) oy * h / ho);
                long srcRow = ((long) img * h + iy) * w, dstRow = (long) row * wo;
                for (int ox = 0; ox < wo; ox++) {
                    int ix = (int) ((long) ox * w / wo);
                    MemorySegment.copy(xs, (srcRow + ix) * cb, os, (dstRow + ox) * cb, cb);
                }
            }
        });
    }
}
