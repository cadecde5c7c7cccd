package dev.tav4j.kernels.cuda;

/**
 * The tensor-core kernel families, each of which has a CUDA-core fallback: what {@link CudaOps#disableTensorCores}
 * switches off one at a time (the GPU self-check does, for a family that failed on this device).
 */
public enum TensorCoreFamily {
    /** conv2d_tc_* (fallback conv2d_*). */
    CONV2D,
    /** conv2d_bwd_input_tc_* (fallback conv2d_bwd_input_*). */
    CONV2D_INPUT_GRAD,
    /** attention_tc_d*_* (fallback attention_d*_*). */
    ATTENTION,
    /** attention_bwd_tc_{q,kv}_d*_* (fallback attention_bwd_{q,kv}_d*_*). */
    ATTENTION_GRAD
}
