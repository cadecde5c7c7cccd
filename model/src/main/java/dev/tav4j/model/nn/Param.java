package dev.tav4j.model.nn;

import dev.tav4j.runtime.Tensor;

/** A named model parameter on the backend, with its PyTorch shape and how it was repacked. */
public record Param(String name, Tensor value, int[] torchShape, ParamLayout layout) {}
