package dev.tav4j.model.nn;

/** How a parameter is stored on the backend relative to its PyTorch layout, so it can be written back. */
public enum ParamLayout {
    /** Same as PyTorch (vectors, embedding tables). */
    AS_IS,
    /** PyTorch Linear / 1×1 conv weight [out, in] (or [out, in, 1, 1]) stored transposed as [in, out]. */
    TRANSPOSED,
    /** PyTorch conv weight [out, in, kh, kw] stored as [kh, kw, in, out]. */
    CONV_HWIO
}
