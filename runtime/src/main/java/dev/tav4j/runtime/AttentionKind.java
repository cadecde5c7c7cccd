package dev.tav4j.runtime;

/**
 * Which keys each query sees. Queries are [N, L, C] with heads interleaved in C (channel = head × headSize + i).
 * Keys and values are read in place: the frame-0 / frame-(i−1) keys of sparse-causal attention and the frame
 * sequences of temporal attention are never copied into new tensors.
 */
public enum AttentionKind {
    /** Each of the N images attends to its own L tokens; k, v are [N, L, C]. */
    SELF,
    /** Like SELF with a causal mask (token j sees tokens 0..j): the CLIP text encoder. */
    CAUSAL,
    /**
     * N = batch × frames; frame f of batch item b attends to the tokens of frame 0 followed by those of frame
     * max(f − 1, 0) of the same item; k, v are [N, L, C].
     */
    SPARSE_CAUSAL,
    /** Image n attends to the Lk tokens of k, v [N / frames, Lk, C] row n / frames (text per batch item). */
    CROSS,
    /** Each spatial position of each batch item attends over the frames: token l of image b·F+f sees token l of images b·F+0..F−1. */
    TEMPORAL
}
