package dev.tav4j.runtime;

/** Point-wise activations used by the models. */
public enum Activation {
    /** x · sigmoid(x). */
    SILU,
    /** The exact (erf) GELU of PyTorch's default. */
    GELU,
    /** CLIP's x · sigmoid(1.702 x). */
    QUICK_GELU,
    /** e^x (the VAE posterior's standard deviation exp(logvar / 2) and its KL divergence when training a VAE). */
    EXP
}
