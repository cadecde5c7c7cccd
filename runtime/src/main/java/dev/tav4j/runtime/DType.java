package dev.tav4j.runtime;

/** Element types a tensor can hold. The CPU backend computes in F32; the CUDA backend also stores BF16/F16. */
public enum DType {
    F32(4), F16(2), BF16(2);

    private final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    public int bytes() { return bytes; }
}
