package dev.tav4j.model.plan;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Device;
import dev.tav4j.runtime.Fusion;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepGraph;
import dev.tav4j.runtime.Storage;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.device.DevicePool;

import java.util.List;

/**
 * A backend that computes nothing and counts memory: the models run their real forward (and a tuning step its real
 * tape and backward) on it with tensors that have a shape and a byte size but no storage, so the largest live set of
 * a step comes out of the model code itself, for any frames × size × precision × checkpointing, in milliseconds.
 *
 * <p>Two flavours, each mirroring what its real backend allocates besides the tensors the model asks for:
 * <ul>
 *   <li>{@link MemoryPlan.Target#HOST} (the cpu backend): exact sizes as {@code HostMemoryPool} counts them, F32 only,
 *       plus the cpu kernels' own temporaries — conv2d's zero-padded input copy, the temporary of a matmul whose
 *       residual is its output (the unfused sum), conv2d's and matmul's input-gradient weight transposes and spread
 *       gradient — and the weights themselves (the cpu backend adopts the host tensors it loads).</li>
 *   <li>{@link MemoryPlan.Target#DEVICE} (cuda): the real {@link DevicePool} over a fake allocator, so block rounding,
 *       the free lists, and the blocks a captured step (CUDA graph) reserves are the real ones; F32 staging of a
 *       half-precision upload and download; the grow-only kernel workspaces (GroupNorm partials with a GPU's
 *       split count, uploaded ids, the grad ops' partials, the attention backward's statistics, a ones vector).</li>
 * </ul>
 */
final class PlanOps implements Ops, GradOps {
    private final MemoryPlan.Target target;
    private final DType precision;
    private final boolean graphs;
    /** HOST: bytes live and their peak, as HostMemoryPool.liveBytes counts them. */
    private long hostLive, hostPeak;
    /** DEVICE: the pool; addresses from a counter (nothing is ever touched). */
    private final DevicePool pool;
    private long nextAddress = 1L << 20;
    /**
     * DEVICE: the cuda backend's grow-only kernel workspaces (DeviceScratch): GroupNorm partials, uploaded ids and
     * timesteps, the grad ops' partials, the attention backward's statistics, the gradient table of the norm, the
     * ones vectors of bias gradients.
     */
    private final Scratch normScratch = new Scratch(), pointScratch = new Scratch(), gradScratch = new Scratch(),
            stats = new Scratch(), table = new Scratch();
    private final java.util.Map<DType, Scratch> ones = new java.util.EnumMap<>(DType.class);
    private final java.util.Map<DType, Long> onesCount = new java.util.EnumMap<>(DType.class);

    PlanOps(MemoryPlan.Target target, DType precision, boolean graphs) {
        if (target == MemoryPlan.Target.HOST && precision != DType.F32)
            throw new IllegalArgumentException("the cpu backend computes in fp32 only, not " + precision);
        this.target = target;
        this.precision = precision;
        this.graphs = graphs && target == MemoryPlan.Target.DEVICE;
        this.pool = target == MemoryPlan.Target.DEVICE ? new DevicePool(new DevicePool.Allocator() {
            @Override public long alloc(long bytes) {
                long p = nextAddress;
                nextAddress += bytes + 512;
                return p;
            }

            @Override public void free(long ptr) {}

            @Override public void synchronize() {}

            @Override public long freeBytes() { return Long.MAX_VALUE; }

            @Override public long totalBytes() { return Long.MAX_VALUE; }
        }) : null;
    }

    // ---------------------------------------------------------------- memory accounting

    /** Bytes in use now (device: the pool's in-use bytes, graph reservations included). */
    long inUse() { return pool != null ? pool.inUseBytes() : hostLive; }

    /** Peak of {@link #inUse()} since the last {@link #resetPeak()}. */
    long peak() { return pool != null ? pool.peakInUseBytes() : hostPeak; }

    void resetPeak() {
        if (pool != null) pool.resetPeak();
        else hostPeak = hostLive;
    }

    private long take(long bytes) {
        if (pool != null) return pool.take(bytes);
        hostLive += bytes;
        hostPeak = Math.max(hostPeak, hostLive);
        return bytes;
    }

    private void give(long handle) {
        if (pool != null) pool.give(handle);
        else hostLive -= handle;
    }

    /** A tensor counted in this backend's memory; closing its owner gives the bytes back. */
    private Tensor counted(DType dtype, int... shape) {
        long bytes = Math.multiplyExact(Tensor.checkedSize(shape), (long) dtype.bytes());
        return new Tensor(new Counted(bytes, take(bytes)), 0, dtype, true, shape);
    }

    /** A short-lived buffer of a kernel (allocated and given back within the op). */
    private void temporary(long bytes) {
        give(take(bytes));
    }

    /**
     * A tensor of host memory: counted on the host flavour (the cpu backend's memory), free on the device flavour
     * (the plan of a device run counts device memory only). Weights are read into such tensors.
     */
    Tensor hostTensor(int... shape) {
        if (target == MemoryPlan.Target.HOST) return counted(DType.F32, shape);
        return new Tensor(new Uncounted(Tensor.checkedSize(shape) * 4), 0, DType.F32, true, shape);
    }

    /**
     * A result read back to the host: on the cpu a counted host copy; on a device a half-precision tensor is converted
     * to F32 on the device first (CudaOps.download), and the host copy is not device memory.
     */
    Tensor readBack(Tensor t) {
        if (target == MemoryPlan.Target.HOST) return counted(DType.F32, t.shape());
        if (t.dtype() != DType.F32) temporary(t.size() * 4);
        return new Tensor(new Uncounted(t.size() * 4), 0, DType.F32, true, t.shape());
    }

    /** DeviceScratch's rule: a buffer that grows to max(need, 64 KiB, twice its size) and is never given back during a run. */
    private final class Scratch {
        private long ptr, bytes;

        void get(long need) {
            if (pool == null || need <= bytes) return;
            if (ptr != 0) pool.give(ptr);
            ptr = 0;
            long size = Math.max(need, Math.max(64 * 1024, bytes * 2));
            ptr = pool.take(size);
            bytes = size;
        }
    }

    /** The partial-statistics splits of the cuda GroupNorm kernels (a GPU's: up to 64 per group). */
    private static int groupNormSplits(Tensor x, int groups, int framesPooled) {
        int c = x.dim(-1);
        long hw = x.sizeFrom(1) / c, groupElems = framesPooled * hw * (c / groups);
        return (int) Math.max(1, Math.min(64, (groupElems + 8191) / 8192));
    }

    private final class Counted implements Storage {
        private final long bytes, handle;
        private boolean released;

        Counted(long bytes, long handle) {
            this.bytes = bytes;
            this.handle = handle;
        }

        @Override public long byteSize() { return bytes; }

        @Override public Device device() { return Device.CUDA; }  // never host: no code may read or write it

        @Override public void release() {
            if (released) return;
            released = true;
            give(handle);
        }
    }

    private record Uncounted(long byteSize) implements Storage {
        @Override public Device device() { return Device.CUDA; }

        @Override public void release() {}
    }

    // ---------------------------------------------------------------- Ops: memory

    @Override public String name() { return "plan-" + (target == MemoryPlan.Target.HOST ? "cpu" : "cuda"); }

    @Override public DType precision() { return precision; }

    @Override public Tensor allocate(int... shape) { return counted(precision, shape); }

    @Override public Tensor allocate(DType dtype, int... shape) {
        if (target == MemoryPlan.Target.HOST && dtype != DType.F32) throw new IllegalArgumentException("the cpu backend stores F32 only, not " + dtype);
        return counted(dtype, shape);
    }

    @Override public Tensor allocateF32(int... shape) { return counted(DType.F32, shape); }

    @Override public Tensor upload(Tensor host) { return upload(host, precision); }

    /** As CudaOps: an F32 device copy, converted into a new tensor of the other type (the F32 one freed). */
    @Override public Tensor upload(Tensor host, DType dtype) {
        Tensor f32 = allocate(DType.F32, host.shape());
        if (dtype == DType.F32) return f32;
        try (f32) {
            return allocate(dtype, host.shape());
        }
    }

    /** The cpu backend takes the host tensor over (it is counted already); a device uploads it and closes it. */
    @Override public Tensor adopt(Tensor host) {
        if (target == MemoryPlan.Target.HOST) return host;
        try (host) {
            return upload(host);
        }
    }

    /** Small read-backs (a step's loss and norm, the VAE's moments) are real host zeros; a half tensor is converted to F32 first. */
    @Override public Tensor download(Tensor t) {
        if (target == MemoryPlan.Target.DEVICE && t.dtype() != DType.F32) temporary(t.size() * 4);
        if (t.size() > (64L << 20))
            throw new UnsupportedOperationException("the memory plan does not read back " + t + " (a host copy of " + t.size() * 4 + " bytes)");
        return Tensor.zeros(t.shape());
    }

    @Override public void write(float[] values, Tensor dst) {}

    @Override public void copy(Tensor src, Tensor dst) {}

    @Override public void synchronize() {}

    @Override public GradOps grad() { return this; }

    // ---------------------------------------------------------------- step capture (device: as CudaStepOps over the pool)

    @Override public boolean capturesSteps() { return graphs; }

    /**
     * A captured step: the pool serves it from cached blocks only (a fresh block is the pool's StepCaptureException,
     * which StepLoop answers with one more eager run) and reserves every block it touched until the graph closes.
     */
    @Override public StepGraph record(Runnable step) {
        if (!graphs) return StepGraph.eager(step);
        pool.beginCapture();
        DevicePool.Reservation r;
        try {
            step.run();
            r = pool.endCapture();
        } catch (RuntimeException | Error e) {
            pool.abortCapture();
            throw e;
        }
        return new StepGraph() {
            @Override public void replay() {}

            @Override public boolean captured() { return true; }

            @Override public void close() { r.close(); }
        };
    }

    // ---------------------------------------------------------------- Ops: kernels (their temporaries only)

    @Override public void matmul(Tensor a, Tensor w, Tensor bias, Tensor out) {}

    /** cuda fuses the residual; the cpu backend runs the unfused default, which needs a temporary when the residual is the output. */
    @Override public void matmul(Tensor a, Tensor w, Tensor bias, Tensor residual, Tensor out) {
        if (target == MemoryPlan.Target.HOST && residual != null && Fusion.requireResidual("matmul", residual, out, true))
            temporary(out.size() * 4);
    }

    /** The cpu convolution works on a zero-padded copy of its input when there is padding. */
    @Override public void conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly, Tensor out) {
        if (target != MemoryPlan.Target.HOST) return;
        int extra = padBottomRightOnly ? 1 : 2 * padding;
        if (extra > 0) temporary((long) x.dim(0) * (x.dim(1) + extra) * (x.dim(2) + extra) * x.dim(3) * 4);
    }

    @Override public void conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly,
                                 Tensor residual, Tensor out) {
        conv2d(x, w, bias, stride, padding, padBottomRightOnly, out);
    }

    @Override public void groupNorm(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu, Tensor out) {
        long vg = (long) x.dim(0) / framesPooled * groups;
        normScratch.get(vg * groupNormSplits(x, groups, framesPooled) * 12 + vg * 8);
    }

    @Override public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {}

    @Override public void attention(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k, Tensor v, Tensor out) {}

    @Override public void geglu(Tensor x, Tensor out) {}

    @Override public void activation(Activation act, Tensor x, Tensor out) {}

    @Override public void upsampleNearest(Tensor x, Tensor out) {}

    @Override public void timestepEmbedding(float[] timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out) {
        pointScratch.get(4L * timesteps.length);
    }

    @Override public void timestepEmbedding(Tensor timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out) {}

    @Override public void axpby(float a, Tensor x, float b, Tensor y, Tensor out) {}

    @Override public void axpby(Tensor ab, Tensor x, Tensor y, Tensor out) {}

    @Override public void addChannelBias(Tensor x, Tensor rows, int repeat, Tensor out) {}

    @Override public void concatChannels(Tensor a, Tensor b, Tensor out) {}

    // the pretrainer's loss ops: outputs only (the cuda sum's partials are a few KiB; pretraining is not planned yet)
    @Override public void mul(Tensor x, Tensor y, Tensor out) {}

    @Override public void sum(Tensor x, Tensor out) {}

    @Override public void fill(float value, Tensor out) {}

    @Override public void fill(Tensor value, Tensor out) {}

    @Override public void permute(Tensor x, int[] perm, Tensor out) {}

    @Override public void gatherRows(Tensor table, int[] ids, Tensor out) { pointScratch.get(4L * Math.max(ids.length, 1)); }

    // ---------------------------------------------------------------- GradOps (their temporaries only)

    /** cpu: dX = dY · wᵀ through a transposed copy of w. */
    @Override public void matmulBackwardInput(Tensor dY, Tensor w, Tensor dX) {
        if (target == MemoryPlan.Target.HOST && dX.size() > 0) temporary(w.size() * 4);
    }

    /** cuda: a bias gradient is a GEMM with a vector of ones as long as the rows (grown to at least 4096). */
    @Override public void matmulBackwardWeight(Tensor x, Tensor dY, Tensor dW, Tensor dBias) {
        if (pool == null || dBias == null || dW.dim(1) == 0 || dY.size() == 0) return;
        long m = dY.size() / dW.dim(1);
        Scratch buf = ones.computeIfAbsent(dY.dtype(), t -> new Scratch());
        buf.get(dY.dtype().bytes() * m);
        if (m > onesCount.getOrDefault(dY.dtype(), 0L)) {
            long cap = Math.max(m, 4096);
            buf.get(dY.dtype().bytes() * cap);
            onesCount.put(dY.dtype(), cap);
        }
    }

    /**
     * cpu: a flipped, transposed copy of the kernel, then a stride-1 convolution of dY (padded by kh−1−p, the
     * convolution's own padded copy) or, for strided or asymmetric cases, of a spread and padded copy of dY.
     */
    @Override public void conv2dBackwardInput(Tensor dY, Tensor w, int stride, int padding, boolean padBottomRightOnly, Tensor dX) {
        if (target != MemoryPlan.Target.HOST || dX.size() == 0) return;
        int kh = w.dim(0), kw = w.dim(1), co = w.dim(3);
        long wf = w.size() * 4;
        long tmp = take(wf);
        try {
            if (stride == 1 && !padBottomRightOnly && kh == kw && padding <= kh - 1) {
                int p = kh - 1 - padding;
                if (p > 0) temporary((long) dY.dim(0) * (dY.dim(1) + 2L * p) * (dY.dim(2) + 2L * p) * co * 4);
            } else {
                temporary((long) dX.dim(0) * (dX.dim(1) + kh - 1) * (dX.dim(2) + kw - 1) * co * 4);
            }
        } finally {
            give(tmp);
        }
    }

    @Override public void conv2dBackwardWeight(Tensor x, Tensor dY, int stride, int padding, boolean padBottomRightOnly, Tensor dW, Tensor dBias) {}

    @Override public void groupNormBackward(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu,
                                            Tensor dY, Tensor dX) {
        if (x.size() == 0) return;
        long vg = (long) x.dim(0) / framesPooled * groups;
        gradScratch.get(4 * vg * (5L * groupNormSplits(x, groups, framesPooled) + 4));
    }

    @Override public void groupNormBackwardAffine(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu,
                                                  Tensor dY, Tensor dGamma, Tensor dBeta) {}

    @Override public void layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dX) {}

    @Override public void layerNormBackwardAffine(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dGamma, Tensor dBeta) {}

    /** cuda: (log-sum-exp, D) per query row and head in a buffer that only grows (DeviceScratch's rule). */
    @Override public void attentionBackward(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k, Tensor v,
                                            Tensor dOut, Tensor dQ, Tensor dK, Tensor dV) {
        stats.get((long) q.dim(0) * q.dim(1) * heads * 2 * 4);
    }

    @Override public void gegluBackward(Tensor x, Tensor dY, Tensor dX) {}

    @Override public void activationBackward(Activation act, Tensor x, Tensor dY, Tensor dX) {}

    @Override public void upsampleNearestBackward(Tensor dY, Tensor dX) {}

    @Override public void splitChannels(Tensor dOut, Tensor dA, Tensor dB) {}

    @Override public void addChannelBiasBackward(Tensor dY, int repeat, Tensor dRows) {}

    private static final int SQ_BLOCKS = 256;  // CudaGradOps' partial sums

    @Override public double sumOfSquares(Tensor x) {
        if (x.size() > 0) gradScratch.get(8L * (Math.min(SQ_BLOCKS, (x.size() + 255) / 256) + 1));
        return 0;
    }

    @Override public double sumOfSquares(List<Tensor> xs) {
        long total = 0;
        for (Tensor x : xs) total += x.size();
        if (total == 0) return 0;
        table.get(16L * xs.size());
        gradScratch.get(8L * (Math.min(SQ_BLOCKS, (total + 255) / 256) + 1));
        return 0;
    }

    @Override public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, float gradScale, float lr, float beta1, float beta2,
                                float weightDecay, float eps, int step) {}

    @Override public void mseLoss(Tensor pred, Tensor target, Tensor out) { gradScratch.get(8L * (SQ_BLOCKS + 1)); }

    /** cuda: the multi-tensor sum of squares (its table and partials), then the factors. */
    @Override public void clipFactors(List<Tensor> grads, Tensor in, float maxNorm, Tensor out) { sumOfSquares(grads); }

    @Override public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor in, Tensor out, float lr, float beta1,
                                float beta2, float weightDecay, float eps) {}
}
