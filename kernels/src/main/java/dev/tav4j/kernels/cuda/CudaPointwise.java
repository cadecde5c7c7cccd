package dev.tav4j.kernels.cuda;

import static dev.tav4j.kernels.cuda.CudaLaunch.ptr;
import static dev.tav4j.kernels.cuda.CudaLaunch.sameType;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The element-wise and data-movement ops (elementwise.cu): GEGLU, activations, nearest upsampling, the timestep
 * embedding, axpby, products, fills, the sum of all elements, the fused DDIM step, the per-image channel bias, channel concatenation, permutes and row
 * gathers. Each is one grid-stride launch; the two that take host arrays (timesteps, token ids) copy them into a
 * reused device scratch buffer through a reused host staging buffer first.
 */
final class CudaPointwise implements AutoCloseable {
    /** Blocks of the first stage of {@link #sum}: fixed by the element count alone, so sums do not depend on the device. */
    private static final int SUM_BLOCKS = 256;
    private final CudaLaunch l;
    private final DeviceScratch scratch;
    private final Arena stagingArena = Arena.ofShared();
    private MemorySegment staging = MemorySegment.NULL;

    CudaPointwise(CudaLaunch launch) {
        this.l = launch;
        this.scratch = new DeviceScratch(launch.api);
    }

    void geglu(Tensor x, Tensor out) {
        int d2 = x.dim(-1);
        if (d2 % 2 != 0) throw new IllegalArgumentException("geglu: last dimension " + d2 + " of x is odd");
        int[] want = x.shape();
        want[want.length - 1] = d2 / 2;
        out.requireShape("geglu: out", want);
        sameType("geglu", x, out);
        long rows = x.size() / Math.max(d2, 1);
        l.elementwise(k(x).geglu, out.size(), l.args.reset().ptr(ptr(x)).ptr(ptr(out)).i64(rows).i32(d2 / 2));
    }

    void activation(Activation act, Tensor x, Tensor out) {
        out.requireShape("activation: out", x.shape());
        sameType("activation", x, out);
        l.elementwise(k(x).activation, x.size(), l.args.reset().ptr(ptr(x)).ptr(ptr(out)).i32(act.ordinal()).i64(x.size()));
    }

    void upsampleNearest(Tensor x, Tensor out) {
        if (x.rank() != 4 || out.rank() != 4 || x.dim(0) != out.dim(0) || x.dim(3) != out.dim(3))
            throw new IllegalArgumentException("upsampleNearest: x " + Arrays.toString(x.shape()) + " and out " + Arrays.toString(out.shape()) + " must be [N, H, W, C] with equal N and C");
        sameType("upsampleNearest", x, out);
        l.args.reset().ptr(ptr(x)).ptr(ptr(out)).i32(x.dim(0)).i32(x.dim(1)).i32(x.dim(2)).i32(x.dim(3)).i32(out.dim(1)).i32(out.dim(2));
        l.elementwise(k(x).upsampleNearest, out.size(), l.args);
    }

    void timestepEmbedding(float[] timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out) {
        out.requireShape("timestepEmbedding: out", timesteps.length, dim);
        long dev = scratch.get(4L * timesteps.length);
        MemorySegment host = staging(4L * timesteps.length);
        MemorySegment.copy(timesteps, 0, host, ValueLayout.JAVA_FLOAT, 0, timesteps.length);
        l.api.copyToDevice(host, dev, 4L * timesteps.length);
        l.args.reset().ptr(dev).ptr(ptr(out)).i32(timesteps.length).i32(dim).i32(flipSinToCos ? 1 : 0).f32(downscaleFreqShift);
        l.elementwise(k(out).timestepEmbedding, out.size(), l.args);
    }

    void axpby(float a, Tensor x, float b, Tensor y, Tensor out) {
        if (x.size() != y.size() || x.size() != out.size())
            throw new IllegalArgumentException("axpby: x " + Arrays.toString(x.shape()) + ", y " + Arrays.toString(y.shape()) + ", out " + Arrays.toString(out.shape()) + " differ in size");
        sameType("axpby", x, y, out);
        l.elementwise(k(x).axpby, x.size(), l.args.reset().ptr(ptr(x)).ptr(ptr(y)).ptr(ptr(out)).f32(a).f32(b).i64(x.size()));
    }

    void mul(Tensor x, Tensor y, Tensor out) {
        if (!Arrays.equals(x.shape(), y.shape()) || !Arrays.equals(x.shape(), out.shape()))
            throw new IllegalArgumentException("mul: x " + Arrays.toString(x.shape()) + ", y " + Arrays.toString(y.shape()) + ", out " + Arrays.toString(out.shape()) + " must have the same shape");
        sameType("mul", x, y, out);
        l.elementwise(k(x).mul, x.size(), l.args.reset().ptr(ptr(x)).ptr(ptr(y)).ptr(ptr(out)).i64(x.size()));
    }

    void fill(float value, Tensor out) {
        l.elementwise(k(out).fill, out.size(), l.args.reset().ptr(ptr(out)).f32(value).i64(out.size()));
    }

    void fill(Tensor value, Tensor out) {
        if (value.size() != 1) throw new IllegalArgumentException("fill: value must hold one element, got " + Arrays.toString(value.shape()));
        sameType("fill", value, out);
        l.elementwise(k(out).fillFrom, out.size(), l.args.reset().ptr(ptr(value)).ptr(ptr(out)).i64(out.size()));
    }

    /** Two fixed-order stages (partials in double over a grid fixed by the size, one final block); nothing read back. */
    void sum(Tensor x, Tensor out) {
        if (out.size() != 1) throw new IllegalArgumentException("sum: out must hold one element, got " + Arrays.toString(out.shape()));
        sameType("sum", x, out);
        int blocks = (int) Math.max(1, Math.min(SUM_BLOCKS, (x.size() + 255) / 256));
        long part = scratch.get(8L * SUM_BLOCKS);  // one size always: never grows inside a captured step
        l.args.reset().ptr(ptr(x)).ptr(part).i64(x.size());
        l.grid(k(x).sumPartial, blocks, 1, 256);
        l.args.reset().ptr(part).i32(blocks).ptr(ptr(out));
        l.grid(k(x).sumFinal, 1, 1, 256);
    }

    void ddimStep(Tensor x, Tensor eps, float alpha, float alphaPrev, Tensor out) {
        if (x.size() != eps.size() || x.size() != out.size())
            throw new IllegalArgumentException("ddimStep: x " + Arrays.toString(x.shape()) + ", eps " + Arrays.toString(eps.shape()) + ", out " + Arrays.toString(out.shape()) + " differ in size");
        sameType("ddimStep", x, eps, out);
        l.args.reset().ptr(ptr(x)).ptr(ptr(eps)).ptr(ptr(out)).i64(x.size())
                .f32((float) Math.sqrt(alpha)).f32((float) Math.sqrt(1 - alpha)).f32((float) Math.sqrt(alphaPrev)).f32((float) Math.sqrt(1 - alphaPrev));
        l.elementwise(k(x).ddimStep, x.size(), l.args);
    }

    void addChannelBias(Tensor x, Tensor rows, int repeat, Tensor out) {
        if (x.rank() < 2) throw new IllegalArgumentException("addChannelBias: x must be [N, ..., C], got " + Arrays.toString(x.shape()));
        int n = x.dim(0), c = x.dim(-1);
        if (repeat < 1 || n % repeat != 0) throw new IllegalArgumentException("addChannelBias: " + n + " images do not split by repeat " + repeat);
        rows.requireShape("addChannelBias: rows", n / repeat, c);
        out.requireShape("addChannelBias: out", x.shape());
        sameType("addChannelBias", x, rows, out);
        l.args.reset().ptr(ptr(x)).ptr(ptr(rows)).ptr(ptr(out)).i64(x.size()).i32(c).i64(x.sizeFrom(1)).i32(repeat);
        l.elementwise(k(x).addChannelBias, x.size(), l.args);
    }

    void concatChannels(Tensor a, Tensor b, Tensor out) {
        int ca = a.dim(-1), cb = b.dim(-1);
        int[] lead = Arrays.copyOf(a.shape(), a.rank() - 1);
        if (!Arrays.equals(lead, Arrays.copyOf(b.shape(), b.rank() - 1)))
            throw new IllegalArgumentException("concatChannels: a " + Arrays.toString(a.shape()) + " and b " + Arrays.toString(b.shape()) + " differ before the last dimension");
        int[] want = a.shape();
        want[want.length - 1] = ca + cb;
        out.requireShape("concatChannels: out", want);
        sameType("concatChannels", a, b, out);
        long pixels = a.size() / Math.max(ca, 1);
        l.elementwise(k(a).concatChannels, out.size(), l.args.reset().ptr(ptr(a)).ptr(ptr(b)).ptr(ptr(out)).i64(pixels).i32(ca).i32(cb));
    }

    void permute(Tensor x, int[] perm, Tensor out) {
        int r = x.rank();
        if (perm.length != r || r > 6) throw new IllegalArgumentException("permute: perm " + Arrays.toString(perm) + " for rank " + r + " (at most 6)");
        boolean[] seen = new boolean[r];
        int[] want = new int[r];
        long[] stride = new long[r];
        for (int i = r - 1, s = 1; i >= 0; i--) { stride[i] = s; s *= x.dim(i); }
        for (int i = 0; i < r; i++) {
            if (perm[i] < 0 || perm[i] >= r || seen[perm[i]]) throw new IllegalArgumentException("permute: " + Arrays.toString(perm) + " is not a permutation");
            seen[perm[i]] = true;
            want[i] = x.dim(perm[i]);
        }
        out.requireShape("permute: out", want);
        sameType("permute", x, out);
        // the kernel takes 6 dimensions: leading ones of size 1 (stride 0) pad lower ranks
        l.args.reset().ptr(ptr(x)).ptr(ptr(out)).i64(x.size());
        for (int i = 0; i < 6 - r; i++) l.args.i32(1);
        for (int i = 0; i < r; i++) l.args.i32(want[i]);
        for (int i = 0; i < 6 - r; i++) l.args.i64(0);
        for (int i = 0; i < r; i++) l.args.i64(stride[perm[i]]);
        l.elementwise(k(x).permute, x.size(), l.args);
    }

    void gatherRows(Tensor table, int[] ids, Tensor out) {
        if (table.rank() != 2) throw new IllegalArgumentException("gatherRows: table must be [V, D], got " + Arrays.toString(table.shape()));
        int vocab = table.dim(0), d = table.dim(1);
        out.requireShape("gatherRows: out", ids.length, d);
        sameType("gatherRows", table, out);
        for (int i = 0; i < ids.length; i++)
            if (ids[i] < 0 || ids[i] >= vocab) throw new IllegalArgumentException("gatherRows: id " + ids[i] + " at " + i + " outside the table of " + vocab + " rows");
        long dev = scratch.get(4L * Math.max(ids.length, 1));
        MemorySegment host = staging(4L * ids.length);
        MemorySegment.copy(ids, 0, host, ValueLayout.JAVA_INT, 0, ids.length);
        l.api.copyToDevice(host, dev, 4L * ids.length);
        l.elementwise(k(table).gatherRows, out.size(), l.args.reset().ptr(ptr(table)).ptr(dev).ptr(ptr(out)).i64(ids.length).i32(d));
    }

    private CudaKernels.Typed k(Tensor t) {
        return l.kernels.of(t.dtype());
    }

    private MemorySegment staging(long bytes) {
        if (staging.byteSize() < bytes) staging = stagingArena.allocate(Math.max(bytes, 4096), 8);
        return staging;
    }

    @Override public void close() {
        scratch.close();
        stagingArena.close();
    }
}
