package dev.tav4j.runtime.autograd;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Gradient buffers of the trainable parameters, keyed by the parameter tensor itself; a layer asks
 * {@link #of(Tensor)} and gets null for frozen parameters (their gradients are never computed). The buffers are F32
 * whatever the backend stores (mixed precision: half-precision activations accumulate into fp32 weight gradients).
 */
public final class Grads implements AutoCloseable {
    private final Ops ops;
    private final GradOps grad;
    private final Map<Tensor, Tensor> buffers = new IdentityHashMap<>();
    /** Zeros on the backend, as long as the largest buffer: a fresh device allocation holds garbage (maybe NaN,
     *  which 0·x would keep), so buffers are zeroed by copying from here. */
    private final Tensor zeros;

    public Grads(Ops ops, Iterable<Tensor> trainable) {
        this.ops = ops;
        this.grad = ops.grad();
        long max = 1;
        for (Tensor p : trainable) {
            buffers.put(p, ops.allocate(DType.F32, p.shape()));
            max = Math.max(max, p.size());
        }
        try (Tensor host = Tensor.zeros(Math.toIntExact(max))) {
            zeros = ops.upload(host, DType.F32);
        }
        zero();
    }

    /** Sets a tensor of this backend (at most as large as the largest gradient buffer) to zero (any element type). */
    public void zeroFill(Tensor t) {
        ops.copy(zeros.slice(0, Math.toIntExact(t.size())), t);
    }

    public Ops ops() { return ops; }

    public GradOps grad() { return grad; }

    /** The gradient buffer of a trainable parameter, or null when it is frozen (or absent). */
    public Tensor of(Tensor param) {
        return param == null ? null : buffers.get(param);
    }

    public void zero() {
        for (Tensor g : buffers.values()) zeroFill(g);
    }

    @Override public void close() {
        buffers.values().forEach(Tensor::close);
        buffers.clear();
        zeros.close();
    }
}
