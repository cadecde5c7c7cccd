package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Tensor;

/**
 * The backward passes of the pure-Java backend, for tuning. Each family lives in its own class; this one only
 * delegates. Matmul and convolution gradients run on the forward GEMM of {@link CpuOps}.
 */
public final class CpuGradOps implements GradOps {
    private final CpuOps fwd;

    public CpuGradOps() {
        this(new CpuOps());
    }

    /** The backward ops that run their GEMMs on {@code fwd}. */
    public CpuGradOps(CpuOps fwd) {
        this.fwd = fwd;
    }

    @Override public void matmulBackwardInput(Tensor dY, Tensor w, Tensor dX) {
        CpuMatmulGrad.backwardInput(fwd, dY, w, dX);
    }

    @Override public void matmulBackwardWeight(Tensor x, Tensor dY, Tensor dW, Tensor dBias) {
        CpuMatmulGrad.backwardWeight(fwd.vectorApi(), x, dY, dW, dBias);
    }

    @Override public void conv2dBackwardInput(Tensor dY, Tensor w, int stride, int padding, boolean padBottomRightOnly,
                                              Tensor dX) {
        CpuConvGrad.backwardInput(fwd, dY, w, stride, padding, padBottomRightOnly, dX);
    }

    @Override public void conv2dBackwardWeight(Tensor x, Tensor dY, int stride, int padding, boolean padBottomRightOnly,
                                               Tensor dW, Tensor dBias) {
        CpuConvGrad.backwardWeight(x, dY, stride, padding, padBottomRightOnly, dW, dBias, fwd.vectorApi());
    }

    @Override public void groupNormBackward(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps,
                                            boolean silu, Tensor dY, Tensor dX) {
        CpuNormGrad.groupNorm(x, groups, framesPooled, gamma, beta, eps, silu, dY, dX, fwd.vectorApi());
    }

    @Override public void groupNormBackwardAffine(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta,
                                                  float eps, boolean silu, Tensor dY, Tensor dGamma, Tensor dBeta) {
        CpuNormGrad.groupNormAffine(x, groups, framesPooled, gamma, beta, eps, silu, dY, dGamma, dBeta, fwd.vectorApi());
    }

    @Override public void layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dX) {
        CpuNormGrad.layerNorm(x, gamma, eps, dY, dX, fwd.vectorApi());
    }

    @Override public void layerNormBackwardAffine(Tensor x, Tensor gamma, float eps, Tensor dY, Tensor dGamma,
                                                  Tensor dBeta) {
        CpuNormGrad.layerNormAffine(x, gamma, eps, dY, dGamma, dBeta, fwd.vectorApi());
    }

    @Override public void attentionBackward(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k,
                                            Tensor v, Tensor dOut, Tensor dQ, Tensor dK, Tensor dV) {
        CpuAttentionGrad.run(kind, frames, heads, scale, q, k, v, dOut, dQ, dK, dV, fwd.vectorApi());
    }

    @Override public void gegluBackward(Tensor x, Tensor dY, Tensor dX) { CpuPointwiseGrad.geglu(x, dY, dX, fwd.vectorApi()); }

    @Override public void activationBackward(Activation act, Tensor x, Tensor dY, Tensor dX) {
        CpuPointwiseGrad.activation(act, x, dY, dX, fwd.vectorApi());
    }

    @Override public void upsampleNearestBackward(Tensor dY, Tensor dX) { CpuLayoutGrad.upsampleNearest(dY, dX, fwd.vectorApi()); }

    @Override public void splitChannels(Tensor dOut, Tensor dA, Tensor dB) { CpuLayoutGrad.splitChannels(dOut, dA, dB); }

    @Override public void addChannelBiasBackward(Tensor dY, int repeat, Tensor dRows) {
        String op = "addChannelBiasBackward";
        Check.that(dY.rank() == 4 && repeat > 0 && dY.dim(0) % repeat == 0, op + ": dY " + dY + " with " + repeat + " images per row");
        int rows = dY.dim(0) / repeat, c = dY.dim(3);
        dRows.requireShape(op + ": dRows", rows, c);
        long per = (long) repeat * dY.dim(1) * dY.dim(2);
        dRows.segment().fill((byte) 0);
        for (int b = 0; b < rows; b++)
            CpuMatmulGrad.biasGrad(fwd.vectorApi(), dY.segment().asSlice(b * per * c * 4L, per * c * 4L), Math.toIntExact(per), c,
                    dRows.segment().asSlice((long) b * c * 4L, c * 4L));
    }

    @Override public double sumOfSquares(Tensor x) { return CpuLayoutGrad.sumOfSquares(x); }

    @Override public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, float gradScale, float lr, float beta1,
                                float beta2, float weightDecay, float eps, int step) {
        CpuAdamW.step(param, grad, m, v, gradScale, lr, beta1, beta2, weightDecay, eps, step);
    }
}
