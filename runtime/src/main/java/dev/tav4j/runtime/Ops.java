package dev.tav4j.runtime;

/**
 * The operations the models are written against; every backend implements all of them, and the CPU backend is
 * the reference the others are held to. Unless stated otherwise, outputs are distinct from inputs, image
 * tensors are channels-last [N, H, W, C] (N = batch × frames), and shapes are checked with a message that
 * names the argument.
 */
public interface Ops {
    /** The name of the backend ("cpu", "cuda"). */
    String name();

    /** A new tensor on this backend; contents unspecified. */
    Tensor allocate(int... shape);

    /** The element type {@link #allocate(int...)} and {@link #upload} create (F32 but on a half-precision cuda backend). */
    default DType precision() { return DType.F32; }

    /**
     * A new tensor of element type {@code dtype} on this backend; contents unspecified. Mixed-precision tuning keeps
     * fp32 master weights, gradients and optimizer state beside half-precision activations this way. A backend that
     * stores only F32 refuses other types.
     */
    default Tensor allocate(DType dtype, int... shape) {
        if (dtype != DType.F32)
            throw new IllegalArgumentException("the " + name() + " backend stores F32 only, not " + dtype);
        return allocate(shape);
    }

    /** A copy of a host tensor on this backend (the same tensor object is never returned). */
    Tensor upload(Tensor host);

    /**
     * A copy of a host F32 tensor on this backend as element type {@code dtype} (e.g. the exact fp32 master copy of a
     * trainable weight on a half-precision backend). A backend that stores only F32 refuses other types.
     */
    default Tensor upload(Tensor host, DType dtype) {
        if (dtype != DType.F32)
            throw new IllegalArgumentException("the " + name() + " backend stores F32 only, not " + dtype);
        return upload(host);
    }

    /**
     * {@code host}'s values on this backend, taking the host tensor over: a backend that computes on host memory
     * returns {@code host} itself (a weight converted at load, or viewed read-only in its mapped file, is not copied
     * again); the others upload it and close it.
     */
    default Tensor adopt(Tensor host) {
        try (host) {
            return upload(host);
        }
    }

    /** Whether this backend's tensors live in host memory (cpu): then weights and activations count against the machine's RAM. */
    default boolean computesOnHost() { return false; }

    /** A host copy of a tensor of this backend. */
    Tensor download(Tensor t);

    /** out[M, N] = a[M, K] · w[K, N] (+ bias[N]); a may have leading dimensions, flattened into M. */
    void matmul(Tensor a, Tensor w, Tensor bias, Tensor out);

    /**
     * out = a·w + bias + residual (the output projection of an attention or feed-forward branch added to the
     * residual stream): residual has out's shape; bias and residual may be null; residual may be out itself (an
     * in-place update of the stream) but must not overlap it otherwise. The default is the unfused sequence,
     * matmul then {@code axpby(1, residual, 1, y, out)}: a backend's fused version computes the same sum,
     * possibly rounded in another order (documented there).
     */
    default void matmul(Tensor a, Tensor w, Tensor bias, Tensor residual, Tensor out) {
        if (residual == null) {
            matmul(a, w, bias, out);
            return;
        }
        residual.requireShape("matmul: residual", out.shape());
        boolean inPlace = Fusion.requireResidual("matmul", residual, out, true);
        if (!inPlace) {
            matmul(a, w, bias, out);
            axpby(1f, residual, 1f, out, out);
            return;
        }
        try (Tensor y = allocate(out.dtype(), out.shape())) {
            matmul(a, w, bias, y);
            axpby(1f, residual, 1f, y, out);
        }
    }

    /**
     * 2D convolution per image. x [N, H, W, Ci], w [kh, kw, Ci, Co], bias [Co] or null, out [N, Ho, Wo, Co]
     * with Ho = (H + 2·padding − kh) / stride + 1. Zero padding on all sides; {@code padBottomRightOnly}
     * pads only the bottom and right by one (the VAE encoder's downsampler).
     */
    void conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly, Tensor out);

    /**
     * The same plus a residual [N, Ho, Wo, Co] (null for none) added after the bias: out = conv(x) + bias +
     * residual, the end of a ResnetBlock (output_scale_factor is 1 in every SD 1.5 block, so there is no scale).
     * residual must not overlap out. The default is the unfused sequence, conv2d then
     * {@code axpby(1, residual, 1, y, out)}; the cuda kernels add it in their epilogue in the same order.
     */
    default void conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly,
                        Tensor residual, Tensor out) {
        if (residual != null) {
            residual.requireShape("conv2d: residual", out.shape());
            Fusion.requireResidual("conv2d", residual, out, false);
        }
        conv2d(x, w, bias, stride, padding, padBottomRightOnly, out);
        if (residual != null) axpby(1f, residual, 1f, out, out);
    }

    /**
     * GroupNorm of x [N, H, W, C] with statistics pooled over {@code framesPooled} consecutive images
     * (1: per image; frames: per video as ResnetBlock3D does), then affine, then SiLU when asked.
     * In place is allowed (out == x).
     */
    void groupNorm(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu, Tensor out);

    /** LayerNorm over the last dimension of x. In place is allowed. */
    void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out);

    /** Fused multi-head attention (online softmax, scores never materialised whole); see {@link AttentionKind}. */
    void attention(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k, Tensor v, Tensor out);

    /** GEGLU: x [..., 2D] split as (a, gate) → out [..., D] = a · gelu(gate). */
    void geglu(Tensor x, Tensor out);

    /** out = act(x), element-wise; in place allowed. */
    void activation(Activation act, Tensor x, Tensor out);

    /** Nearest-neighbour resize of x [N, H, W, C] to out [N, Ho, Wo, C] (PyTorch's 'nearest': src = floor(dst · in / out)). */
    void upsampleNearest(Tensor x, Tensor out);

    /** Sinusoidal timestep embedding, out [B, dim], as diffusers' get_timestep_embedding. */
    void timestepEmbedding(float[] timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out);

    /**
     * The same with the timesteps read from an F32 tensor [B] of this backend ({@link #allocateF32}), so a
     * recorded step ({@link #record}) takes a new timestep on each replay.
     */
    default void timestepEmbedding(Tensor timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out) {
        try (Tensor h = download(timesteps)) {
            timestepEmbedding(h.toArray(), dim, flipSinToCos, downscaleFreqShift, out);
        }
    }

    /** out = a·x + b·y, element-wise over equal shapes; out may alias x or y. */
    void axpby(float a, Tensor x, float b, Tensor y, Tensor out);

    /**
     * out = ab[0]·x + ab[1]·y with the two coefficients read from an F32 tensor {@code ab} [2] of this backend,
     * so a recorded step takes new ones on each replay. Computes exactly what {@link #axpby(float, Tensor, float,
     * Tensor, Tensor)} computes with those values.
     */
    default void axpby(Tensor ab, Tensor x, Tensor y, Tensor out) {
        try (Tensor h = download(ab)) {
            axpby(h.get(0), x, h.get(1), y, out);
        }
    }

    /** out = x ⊙ y, element-wise over equal shapes; out may alias x or y. */
    void mul(Tensor x, Tensor y, Tensor out);

    /**
     * out [1] = the sum of every element of x, accumulated in double in a fixed order and rounded once to out's type
     * (a loss term computed without leaving the device). out has x's element type.
     */
    void sum(Tensor x, Tensor out);

    /** Sets every element of out to {@code value}. */
    void fill(float value, Tensor out);

    /**
     * Sets every element of out to value[0], a one-element tensor of this backend of out's type (a device scalar
     * broadcast, e.g. the gradient of {@link #sum}), with nothing read back to the host.
     */
    void fill(Tensor value, Tensor out);

    /** Splits x [..., Ca + Cb] along the last dimension into a [..., Ca] and b [..., Cb] (the inverse of {@link #concatChannels}). */
    void splitChannels(Tensor x, Tensor a, Tensor b);

    /** out[n, h, w, c] = x[n, h, w, c] + rows[n / repeat, c]: adds a per-image channel vector. out may alias x. */
    void addChannelBias(Tensor x, Tensor rows, int repeat, Tensor out);

    /** Concatenates along the last (channel) dimension: out [..., Ca + Cb]. */
    void concatChannels(Tensor a, Tensor b, Tensor out);

    /** General permutation of dimensions: out.shape[i] = x.shape[perm[i]]. */
    void permute(Tensor x, int[] perm, Tensor out);

    /** Row gather: out[i, :] = table[ids[i], :] (token embeddings). */
    void gatherRows(Tensor table, int[] ids, Tensor out);

    /** Copies src into dst (same element count). */
    void copy(Tensor src, Tensor dst);

    /** The backward ops of this backend, for tuning. */
    default GradOps grad() {
        throw new UnsupportedOperationException("the " + name() + " backend has no backward ops (tuning runs on the cpu backend)");
    }

    /**
     * Bytes of device memory free for new allocations as the device reports them (before a run loads anything: what
     * the run may use); -1 where tensors live in host memory (cpu) or the backend cannot tell. The memory plan of a
     * command is checked against it.
     */
    default long freeDeviceBytes() { return -1; }

    /** Peak bytes of device memory in use since the backend started or {@link #resetPeakDeviceBytes()}; -1 where not tracked (cpu). */
    default long peakDeviceBytes() { return -1; }

    /** Starts a new device-memory peak at what is in use now. */
    default void resetPeakDeviceBytes() {}

    /** Waits for queued work (no-op on the CPU). */
    default void synchronize() {}

    // ---------------------------------------------------------------- what the backend is, backend-neutral

    /** The settings this backend was made with ({@link BackendProvider#create}); defaults for a backend made without. */
    default BackendSettings settings() { return BackendSettings.DEFAULTS; }

    /** The device this backend computes on: name, description, memory. */
    default DeviceInfo deviceInfo() { return DeviceInfo.cpu(); }

    /** Per-kernel device timing, where the backend has kernels of its own to time (cuda); empty otherwise. */
    default java.util.Optional<KernelTiming> kernelTiming() { return java.util.Optional.empty(); }

    /** The self-check of this backend's kernels against the CPU reference (cuda); empty where there is none. */
    default java.util.Optional<KernelCheck> kernelCheck() { return java.util.Optional.empty(); }

    // ---------------------------------------------------------------- per-step inputs and step capture

    /** A new F32 tensor of this backend whatever its storage precision (timesteps, step coefficients). */
    default Tensor allocateF32(int... shape) { return allocate(shape); }

    /**
     * Writes host floats into an F32 tensor of this backend: one asynchronous host→device copy on a GPU, ordered
     * before the work queued after it. Not allowed inside a recorded step (write the inputs before the replay).
     */
    default void write(float[] values, Tensor dst) {
        if (dst.size() != values.length)
            throw new IllegalArgumentException("write: " + values.length + " values into " + dst + " of " + dst.size());
        if (dst.isHost()) {
            for (int i = 0; i < values.length; i++) dst.set(i, values[i]);
            return;
        }
        try (Tensor h = Tensor.of(values, values.length); Tensor d = upload(h)) {
            copy(d, dst);
        }
    }

    /**
     * Records the work {@code step} issues on this backend for replay ({@link StepGraph}); nothing runs until the
     * first {@link StepGraph#replay()}. On cuda the launches are captured into a CUDA graph: the step must not
     * synchronise, copy between host and device, or need device memory the pool has not cached (run it once
     * without recording first), and must close every tensor it allocates; violations throw
     * {@code StepCaptureException} naming them. On the cpu backend recording is a no-op: the returned graph
     * runs {@code step} on each replay.
     */
    default StepGraph record(Runnable step) { return StepGraph.eager(step); }

    /** Whether {@link #record} captures device work (cuda) rather than re-running the Java body (cpu). */
    default boolean capturesSteps() { return false; }
}
