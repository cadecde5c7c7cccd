package dev.tav4j.runtime;

/** The memory a tensor lives in. */
public enum Device { HOST, CUDA }
