package dev.tav4j.model.nn;

import dev.tav4j.runtime.Tensor;

/**
 * A LoRA adapter of a {@link Linear}: A [in, rank] and B [rank, out] in engine layout (PEFT's lora_A.weight
 * [rank, in] and lora_B.weight [out, rank], transposed), parameters of the {@link ParamStore} like any other. The
 * layer computes x·W + b + (x·A)·B: alpha = rank, so the update is exactly B·A and a LoRA file of it needs no alpha.
 */
public record LoraAdapter(Tensor a, Tensor b, int rank) {}
