package dev.tav4j.runtime;

/**
 * Backward passes of the ops, for tuning. Gradients of activations are always produced; gradients of weights only
 * where a parameter is trainable (null skips them). Methods that recompute (norms, attention) take the forward
 * inputs, never cached intermediates: no score matrices are stored. Unless stated, a gradient output is
 * overwritten (not accumulated) and distinct from the inputs.
 */
public interface GradOps {
    /** dX[M, K] = dY[M, N] · w[K, N]ᵀ. */
    void matmulBackwardInput(Tensor dY, Tensor w, Tensor dX);

    /** dW[K, N] += x[M, K]ᵀ · dY[M, N]; dBias[N] += Σ_rows dY (dBias may be null). Accumulates. */
    void matmulBackwardWeight(Tensor x, Tensor dY, Tensor dW, Tensor dBias);

    /** Gradient w.r.t. the input of {@link Ops#conv2d} (weights frozen): dX [N, H, W, Ci] from dY [N, Ho, Wo, Co]. */
    void conv2dBackwardInput(Tensor dY, Tensor w, int stride, int padding, boolean padBottomRightOnly, Tensor dX);

    /**
     * Gradients w.r.t. the weights and bias of {@link Ops#conv2d}: dW [kh, kw, Ci, Co] += Σ over images and output
     * pixels of the input patch ⊗ dY, i.e. dW[ky, kx, ci, co] += Σ x[n, oy·s − top + ky, ox·s − left + kx, ci] ·
     * dY[n, oy, ox, co] (zero outside the image; top = left = padding, or 0 with {@code padBottomRightOnly}), from x
     * [N, H, W, Ci] and dY [N, Ho, Wo, Co]; dBias [Co] += Σ dY over N·Ho·Wo (dBias may be null). The kernel size
     * comes from dW. Accumulates, like {@link #matmulBackwardWeight}; dW and dBias may be F32 when x and dY are
     * half precision (fp32 master gradients).
     */
    void conv2dBackwardWeight(Tensor x, Tensor dY, int stride, int padding, boolean padBottomRightOnly, Tensor dW,
                              Tensor dBias);

    /**
     * Gradient w.r.t. x of {@link Ops#groupNorm} (affine frozen), recomputing the statistics from x; with
     * {@code silu} the SiLU after the affine is differentiated too.
     */
    void groupNormBackward(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu,
                           Tensor dY, Tensor dX);

    /**
     * Gradients w.r.t. the affine of {@link Ops#groupNorm}, recomputing the statistics from x as
     * {@link #groupNormBackward} does: with z = x̂·γ + β and dZ = dY (dY·silu'(z) with {@code silu}),
     * dGamma [C] += Σ dZ·x̂ and dBeta [C] += Σ dZ, summed over every image and pixel. Accumulates; either output may
     * be null, and they may be F32 when x is half precision.
     */
    void groupNormBackwardAffine(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps,
                                 boolean silu, Tensor dY, Tensor dGamma, Tensor dBeta);

    /** Gradient w.r.t. x of {@link Ops#layerNorm} (affine frozen). */
    void layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dX);

    /**
     * Gradients w.r.t. the affine of {@link Ops#layerNorm} over the last dimension D, the statistics recomputed from
     * x: dGamma [D] += Σ_rows dY·x̂ and dBeta [D] += Σ_rows dY. gamma [D] is checked but not read (neither gradient
     * depends on it). Accumulates; either output may be null, and they may be F32 when x is half precision.
     */
    void layerNormBackwardAffine(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dGamma, Tensor dBeta);

    /**
     * Gradients of {@link Ops#attention} w.r.t. q, k and v, recomputing the softmax (no stored scores). dK and dV
     * have the shapes of k and v; for SPARSE_CAUSAL the gradients of frame 0's and frame i−1's keys are summed over
     * every query frame that read them. dK/dV may be null when k, v need no gradient (cross-attention to text).
     */
    void attentionBackward(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k, Tensor v,
                           Tensor dOut, Tensor dQ, Tensor dK, Tensor dV);

    /** Gradient of {@link Ops#geglu}: dX [..., 2D] from x [..., 2D] and dY [..., D]. */
    void gegluBackward(Tensor x, Tensor dY, Tensor dX);

    /** Gradient of {@link Ops#activation}: dX = dY · act'(x). In place allowed (dX == dY). */
    void activationBackward(Activation act, Tensor x, Tensor dY, Tensor dX);

    /** Gradient of {@link Ops#upsampleNearest}: each input pixel sums the gradients of the outputs that copied it. */
    void upsampleNearestBackward(Tensor dY, Tensor dX);

    /**
     * Gradient of {@link Ops#addChannelBias} w.r.t. its rows: dRows[b, c] = Σ over the {@code repeat} images n of
     * row b and their pixels of dY[n, h, w, c] (the time embedding added per video). dY [N, H, W, C], dRows
     * [N / repeat, C] in dY's type; overwritten.
     */
    void addChannelBiasBackward(Tensor dY, int repeat, Tensor dRows);

    /** Gradient of {@link Ops#concatChannels}: splits dOut [..., Ca + Cb] into dA [..., Ca] and dB [..., Cb]. */
    void splitChannels(Tensor dOut, Tensor dA, Tensor dB);

    /** Sum of squares of all elements (for the total gradient norm), in double. */
    double sumOfSquares(Tensor x);

    /**
     * Sum of squares of every element of every tensor (the squared total gradient norm), in double, with at most one
     * wait for the device: a non-finite result means some element is Inf or NaN (the square of any finite float is
     * finite in double), so this is also the "all gradients finite" check of mixed-precision tuning. The default adds
     * {@link #sumOfSquares(Tensor)} per tensor.
     */
    default double sumOfSquares(java.util.List<Tensor> xs) {
        double s = 0;
        for (Tensor x : xs) s += sumOfSquares(x);
        return s;
    }

    /**
     * One AdamW step on a parameter (PyTorch's torch.optim.AdamW): p ← p − lr·wd·p; m ← β1·m + (1−β1)·g;
     * v ← β2·v + (1−β2)·g²; p ← p − lr·(m / (1−β1^t)) / (√(v / (1−β2^t)) + eps). {@code gradScale} multiplies
     * g first (gradient clipping).
     */
    void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, float gradScale, float lr, float beta1, float beta2,
               float weightDecay, float eps, int step);

    // ---------------------------------------------------------------- device-side tuning scalars (TuneScalars)
    // The defaults read and write the scalar buffers on the host (the cpu backend); a device backend overrides them
    // so a tuning step reads nothing back and can be captured in a CUDA graph.

    /** The MSE loss mean((pred − target)²) (sum in double, rounded to float) into out[{@link TuneScalars#LOSS}]. */
    default void mseLoss(Tensor pred, Tensor target, Tensor out) {
        requireHost("mseLoss", pred, target, out);
        double s = 0;
        for (long i = 0; i < pred.size(); i++) {
            double d = (double) pred.get(i) - target.get(i);
            s += d * d;
        }
        out.set(TuneScalars.LOSS, (float) (s / pred.size()));
    }

    /**
     * torch's clip_grad_norm_ after GradScaler.unscale_, without leaving the device: the squared total norm of the
     * (scaled) gradients as {@link #sumOfSquares(java.util.List)}, norm = √sq / scale (scale = in[SCALE]), the clip
     * factor min(1, maxNorm / (norm + 1e-6)) in double rounded to float, gradScale = clip / scale, and the finite
     * flag, into {@code out} ({@link TuneScalars}). Non-finite gradients give clip = gradScale = 0 and FINITE = 0.
     */
    default void clipFactors(java.util.List<Tensor> grads, Tensor in, float maxNorm, Tensor out) {
        requireHost("clipFactors", in, out);
        double sq = sumOfSquares(grads);
        float scale = in.get(TuneScalars.SCALE), clip = 0f, gradScale = 0f;
        boolean finite = Double.isFinite(sq);
        if (finite) {
            double norm = Math.sqrt(sq) / scale;
            clip = (float) Math.min(1.0, maxNorm / (norm + 1e-6));
            gradScale = clip / scale;
        }
        TuneScalars.putSquaredNorm(sq, out);
        out.set(TuneScalars.CLIP, clip);
        out.set(TuneScalars.GRAD_SCALE, gradScale);
        out.set(TuneScalars.FINITE, finite ? 1f : 0f);
    }

    /**
     * {@link #adamW(Tensor, Tensor, Tensor, Tensor, float, float, float, float, float, float, int)} with the
     * step-dependent scalars read from the device buffers: the step (in[STEP], its bias corrections in[STEP_SIZE],
     * in[BC2_SQRT]) and gradScale = out[GRAD_SCALE]; nothing happens when out[FINITE] is 0 (a skipped step).
     */
    default void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor in, Tensor out, float lr, float beta1,
                       float beta2, float weightDecay, float eps) {
        requireHost("adamW", in, out);
        if (out.get(TuneScalars.FINITE) == 0f) return;
        adamW(param, grad, m, v, out.get(TuneScalars.GRAD_SCALE), lr, beta1, beta2, weightDecay, eps,
                (int) in.get(TuneScalars.STEP));
    }

    private static void requireHost(String op, Tensor... ts) {
        for (Tensor t : ts)
            if (!t.isHost()) throw new UnsupportedOperationException(op + ": " + t + " is a device tensor; this backend has no device-side " + op);
    }
}
