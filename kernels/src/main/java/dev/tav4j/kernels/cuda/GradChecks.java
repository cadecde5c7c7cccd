package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceApi.KernelHandle;

import java.util.Arrays;

/**
 * Launch plumbing of the backward ops: one reusable parameter buffer, grid geometry (grid-stride kernels get
 * enough blocks to fill a GPU, few in emulation), and the argument checks they share. Not thread-safe.
 */
final class CudaGradLaunch implements AutoCloseable {
    static final int EW_THREADS = 256;

    final DeviceApi api;
    final KernelArgs args = new KernelArgs();
    private final int maxGrid;
    private final CudaLaunch forward;  // whose profiler, when on, also times the backward's work; null: never profiled

    CudaGradLaunch(DeviceApi api, CudaLaunch forward) {
        this.api = api;
        this.forward = forward;
        this.maxGrid = api.emulated() ? 8 : 16384;
    }

    /** Launches the kernel on a 2D grid with the arguments in {@link #args}; an empty grid launches nothing. */
    void grid(KernelHandle k, int gx, int gy, int threads) {
        grid(k, gx, gy, threads, 0);
    }

    /** The same with {@code smem} bytes of dynamic shared memory (the device opts in above 48 KiB). */
    void grid(KernelHandle k, int gx, int gy, int threads, int smem) {
        if (gx == 0 || gy == 0) return;
        if (gy > 65535) throw new IllegalArgumentException(k.name() + ": grid y " + gy + " exceeds the limit 65535");
        begin(k.name());
        api.launch(k, gx, gy, 1, threads, 1, 1, smem, args.array());
        end();
    }

    /** Opens the profiler's bracket around work queued until {@link #end()} (no-op when profiling is off). */
    void begin(String name) {
        KernelProfiler p = forward == null ? null : forward.profiler;
        if (p != null) p.begin(name);
    }

    void end() {
        KernelProfiler p = forward == null ? null : forward.profiler;
        if (p != null) p.end();
    }

    /** Launches a grid-stride kernel over n elements. */
    void elementwise(KernelHandle k, long n) {
        if (n == 0) return;
        grid(k, (int) Math.min(maxGrid, (n + EW_THREADS - 1) / EW_THREADS), 1, EW_THREADS);
    }

    static long ptr(Tensor t) {
        return CudaOps.ptr(t);
    }

    static void requireF32(String op, Tensor... ts) {
        for (Tensor t : ts)
            if (t != null && t.dtype() != DType.F32)
                throw new IllegalArgumentException(op + ": tensor " + t + " must be F32, not " + t.dtype() + " (the optimizer works on fp32 gradients and master weights)");
    }

    /** Throws unless every non-null tensor has the element type of the first. */
    static void sameType(String op, Tensor... ts) {
        DType first = null;
        for (Tensor t : ts) {
            if (t == null) continue;
            if (first == null) first = t.dtype();
            else if (t.dtype() != first)
                throw new IllegalArgumentException(op + ": tensor " + t + " is " + t.dtype() + ", the others " + first + " (one element type per op)");
        }
    }

    static void sameShape(String op, String an, Tensor a, String bn, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape()))
            throw new IllegalArgumentException(op + ": " + bn + " " + Arrays.toString(b.shape()) + " must have the shape of "
                    + an + " " + Arrays.toString(a.shape()));
    }

    /** Throws when the device byte ranges of two tensors overlap. */
    static void distinct(String op, String an, Tensor a, String bn, Tensor b) {
        if (a == null || b == null || a.size() == 0 || b.size() == 0) return;
        long a0 = ptr(a), a1 = a0 + a.size() * a.dtype().bytes(), b0 = ptr(b), b1 = b0 + b.size() * b.dtype().bytes();
        if (a0 < b1 && b0 < a1) throw new IllegalArgumentException(op + ": " + an + " must not overlap " + bn);
    }

    static void check(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    @Override public void close() {
        args.close();
    }
}
