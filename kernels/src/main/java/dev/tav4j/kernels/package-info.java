/**
 * Resources only: the compiled CUDA kernels ({@code tav4j.ptx.gz}, with {@code tav4j.ptx.sha256} and
 * {@code tav4j.ptx.info}). The module descriptor opens this package so that the runtime module finds the PTX by name
 * on the module path too.
 */
package dev.tav4j.kernels;
