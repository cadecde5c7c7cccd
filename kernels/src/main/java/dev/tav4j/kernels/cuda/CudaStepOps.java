package dev.tav4j.kernels.cuda;

import dev.tav4j.bindings.cuda.CudaException;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.StepGraph;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceGraph;
import dev.tav4j.runtime.device.StepCaptureException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * {@link CudaOps}' step capture and per-step inputs: recording a step into a {@link DeviceGraph}, writing the
 * step's scalars into device memory, and the two ops that read their scalars from there (timestep embedding,
 * axpby with device coefficients). Kept apart from CudaOps so the facade only delegates.
 */
final class CudaStepOps implements AutoCloseable {
    private static final int THREADS = 256;

    private final DeviceApi api;
    private final KernelArgs args = new KernelArgs();
    private final Arena arena = Arena.ofShared();
    private MemorySegment staging = MemorySegment.NULL;
    private final int maxGrid;
    private final Kernel[] timestepEmbedding = new Kernel[DType.values().length], axpby = new Kernel[DType.values().length];

    CudaStepOps(DeviceApi api) {
        this.api = api;
        this.maxGrid = api.emulated() ? 8 : 16384;
        for (DType t : DType.values()) {
            timestepEmbedding[t.ordinal()] = Kernel.lookup(api, "timestep_embedding_" + CudaKernels.suffix(t), "PPIIIF");
            axpby[t.ordinal()] = Kernel.lookup(api, "axpby_dev_" + CudaKernels.suffix(t), "PPPPL");
        }
    }

    /**
     * Captures what {@code step} enqueues; the graph runs it at each replay (nothing runs now). A capture the driver
     * refuses is a {@link StepCaptureException} (the layers above know no driver errors); running out of memory stays
     * what it is.
     */
    StepGraph record(Runnable step) {
        DeviceGraph g;
        try {
            api.beginCapture();
        } catch (CudaException e) {
            throw refused(e);
        }
        try {
            step.run();
            g = api.endCapture();
        } catch (RuntimeException | Error e) {
            try {
                api.abortCapture();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof CudaException c) throw refused(c);
            throw e;
        }
        return new StepGraph() {
            @Override public void replay() { g.replay(); }

            @Override public boolean captured() { return true; }

            @Override public void close() { g.close(); }

            @Override public String toString() { return "StepGraph[" + g.operations() + " operations]"; }
        };
    }

    private static RuntimeException refused(CudaException e) {
        return e.isOutOfMemory() ? e : new StepCaptureException("the driver refused the capture: " + e.getMessage(), e);
    }

    /** values → an F32 device tensor, one host→device copy (the driver stages pageable memory, so reuse is safe). */
    void write(float[] values, Tensor dst) {
        if (dst.dtype() != DType.F32 || dst.size() != values.length)
            throw new IllegalArgumentException("write: " + values.length + " floats into " + dst + " (needs an F32 tensor of that size)");
        long bytes = 4L * values.length;
        if (staging.byteSize() < bytes) staging = arena.allocate(Math.max(bytes, 256), 8);
        MemorySegment.copy(values, 0, staging, ValueLayout.JAVA_FLOAT, 0, values.length);
        api.copyToDevice(staging, CudaOps.ptr(dst), bytes);
    }

    void timestepEmbedding(Tensor timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out) {
        if (timesteps.dtype() != DType.F32 || timesteps.rank() != 1)
            throw new IllegalArgumentException("timestepEmbedding: timesteps must be an F32 [B] tensor, got " + timesteps);
        int b = timesteps.dim(0);
        out.requireShape("timestepEmbedding: out", b, dim);
        args.reset().ptr(CudaOps.ptr(timesteps)).ptr(CudaOps.ptr(out)).i32(b).i32(dim).i32(flipSinToCos ? 1 : 0).f32(downscaleFreqShift);
        launch1d(timestepEmbedding[out.dtype().ordinal()], out.size());
    }

    void axpby(Tensor ab, Tensor x, Tensor y, Tensor out) {
        if (ab.dtype() != DType.F32 || ab.size() != 2)
            throw new IllegalArgumentException("axpby: coefficients must be an F32 tensor of 2 values, got " + ab);
        if (x.size() != y.size() || x.size() != out.size())
            throw new IllegalArgumentException("axpby: x " + Arrays.toString(x.shape()) + ", y " + Arrays.toString(y.shape()) + ", out " + Arrays.toString(out.shape()) + " differ in size");
        if (x.dtype() != y.dtype() || x.dtype() != out.dtype())
            throw new IllegalArgumentException("axpby: mixed element types " + x.dtype() + ", " + y.dtype() + ", " + out.dtype());
        args.reset().ptr(CudaOps.ptr(ab)).ptr(CudaOps.ptr(x)).ptr(CudaOps.ptr(y)).ptr(CudaOps.ptr(out)).i64(x.size());
        launch1d(axpby[x.dtype().ordinal()], x.size());
    }

    private void launch1d(Kernel kh, long n) {
        if (n == 0) return;
        int grid = (int) Math.min(maxGrid, (n + THREADS - 1) / THREADS);
        kh.check(args);
        api.launch(kh.handle, grid, 1, 1, THREADS, 1, 1, 0, args.array());
    }

    @Override public void close() {
        args.close();
        arena.close();
    }
}
