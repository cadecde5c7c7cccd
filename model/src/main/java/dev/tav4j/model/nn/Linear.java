package dev.tav4j.model.nn;

import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

/**
 * y = x·Wᵀ + b over the last dimension; W is stored as [in, out]. A Linear may carry a LoRA adapter
 * ({@link LoraAdapter}, attached after load by LoRA tuning): then y = x·Wᵀ + b + (x·A)·B, W and b frozen.
 */
public final class Linear {
    private final String module;
    private final Tensor weight, bias;
    private final int in, out;
    private LoraAdapter adapter;

    public Linear(String module, Tensor weight, Tensor bias, int in, int out) {
        this.module = module;
        this.weight = weight;
        this.bias = bias;
        this.in = in;
        this.out = out;
    }

    public static Linear load(ParamStore p, String prefix, int in, int out, boolean bias) {
        return p.register(new Linear(prefix, p.linear(prefix + ".weight", out, in), bias ? p.vector(prefix + ".bias", out) : null, in, out));
    }

    /** A 1×1 convolution used as a Linear over channels-last tokens (non-linear proj_in/out, the VAE's quant convs). */
    public static Linear loadConv1x1(ParamStore p, String prefix, int in, int out) {
        return p.register(new Linear(prefix, p.conv1x1AsLinear(prefix + ".weight", out, in), p.vector(prefix + ".bias", out), in, out));
    }

    /** The module's checkpoint name (its parameters are this + ".weight" / ".bias"). */
    public String module() { return module; }

    public Tensor weight() { return weight; }

    public Tensor bias() { return bias; }

    public int in() { return in; }

    public int out() { return out; }

    /** The LoRA adapter, or null. */
    public LoraAdapter adapter() { return adapter; }

    /** Gives this layer a LoRA adapter (once). */
    void attach(LoraAdapter a) {
        if (adapter != null) throw new IllegalStateException(module + " already has a LoRA adapter");
        a.a().requireShape(module + ".lora_A (engine layout)", in, a.rank());
        a.b().requireShape(module + ".lora_B (engine layout)", a.rank(), out);
        adapter = a;
    }

    /** x [..., in] → [..., out]. */
    public Tensor forward(Fn f, Tensor x) {
        return forward(f, x, null);
    }

    /**
     * residual + this(x), the add fused into the GEMM (the residual stream may take the result in place). With an
     * adapter its low-rank path (x·A)·B comes first, onto the residual, and the base GEMM adds onto that.
     */
    public Tensor forward(Fn f, Tensor x, Tensor residual) {
        if (adapter == null) return f.linear(x, weight, bias, residual);
        Tensor low = f.linear(f.linear(x, adapter.a(), null, null), adapter.b(), null, residual);
        return f.linear(x, weight, bias, low);
    }

    @Override public String toString() {
        return "Linear[" + module + ", " + in + "→" + out + (adapter == null ? "" : ", LoRA rank " + adapter.rank()) + "]";
    }
}
