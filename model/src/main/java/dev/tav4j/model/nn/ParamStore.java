package dev.tav4j.model.nn;

import dev.tav4j.model.io.Weights;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Loads PyTorch-layout weights, repacks them for the engine (Linear → [in, out], conv → [kh, kw, in, out]),
 * uploads them to the backend once, and keeps every parameter by its checkpoint name (for tuning and saving).
 * On the CPU backend a weight the engine uses as stored (an F32 vector or table) stays a read-only view of its
 * mapped file, and a repacked one is the only copy made ({@link Ops#adopt}). The parameters a predicate selects
 * (the trainable ones of a tuning job) are always writable copies, and on a half-precision backend are also kept as
 * exact fp32 device copies ({@link #exactF32}), so mixed-precision tuning starts its fp32 master weights from the
 * checkpoint's values rather than from their bf16/f16 rounding.
 */
public final class ParamStore implements AutoCloseable {
    private final Ops ops;
    private final Weights weights;
    private final Map<String, Param> params = new LinkedHashMap<>();
    private final Map<String, Tensor> exact = new LinkedHashMap<>();
    private final Map<String, Linear> linears = new LinkedHashMap<>();
    private final Predicate<String> trainable;

    public ParamStore(Ops ops, Weights weights) {
        this(ops, weights, name -> false);
    }

    /** {@code trainable} selects the parameters a tuning job will update in place (kept writable, and exact in fp32). */
    public ParamStore(Ops ops, Weights weights, Predicate<String> trainable) {
        this.ops = ops;
        this.weights = weights;
        this.trainable = trainable;
    }

    /**
     * The exact fp32 device copy of parameter {@code name} in engine layout, kept at load where the backend stores a
     * half type and the predicate selected it; null otherwise (on an F32 backend the parameter itself is exact).
     * Owned by this store.
     */
    public Tensor exactF32(String name) { return exact.get(name); }

    public Ops ops() { return ops; }

    public Weights weights() { return weights; }

    /** Every loaded parameter by checkpoint name, in load order. */
    public Map<String, Param> all() { return params; }

    /** Every Linear layer (1×1 convolutions used as one included) by module name, in load order: where a LoRA adapter can go. */
    public Map<String, Linear> linears() { return java.util.Collections.unmodifiableMap(linears); }

    /** Records a Linear layer built from this store's parameters (see {@link #linears()}); returns it. */
    Linear register(Linear l) {
        linears.put(l.module(), l);
        return l;
    }

    /**
     * Adds a LoRA adapter to Linear {@code module}: A and B given in PyTorch layout on the host (PEFT's
     * {@code lora_A.weight} [r, in(, 1, 1)] and {@code lora_B.weight} [out, r(, 1, 1)]; closed here), kept as the
     * parameters {@code module.lora_A.weight} and {@code module.lora_B.weight}, trainable (writable, and exact in fp32
     * beside a half working copy, as a trainable weight loaded from the checkpoint).
     */
    public LoraAdapter addLoraAdapter(String module, Tensor torchA, Tensor torchB) {
        Linear l = linears.get(module);
        if (l == null) {
            torchA.close();
            torchB.close();
            throw new IllegalArgumentException("'" + module + "' is not a Linear layer of this model");
        }
        int r = torchA.dim(0);
        Tensor a = keepTransposed(module + ".lora_A.weight", torchA, r, l.in());
        Tensor b = keepTransposed(module + ".lora_B.weight", torchB, l.out(), r);
        LoraAdapter adapter = new LoraAdapter(a, b, r);
        l.attach(adapter);
        return adapter;
    }

    /** A trainable parameter given in PyTorch layout [rows, cols(, 1, 1)] (closed here), stored as [cols, rows]. */
    private Tensor keepTransposed(String name, Tensor torch, int rows, int cols) {
        int[] s = torch.shape();
        try (torch) {
            if (s.length < 2 || s[0] != rows || s[1] != cols || s.length > 2 && (s.length != 4 || s[2] != 1 || s[3] != 1))
                throw new IllegalArgumentException(name + ": shape " + java.util.Arrays.toString(s) + ", expected [" + rows + ", " + cols + "]");
            return keep(name, HostLayout.transpose(torch, rows, cols), s, ParamLayout.TRANSPOSED, true);
        }
    }

    /** A 1D parameter of n elements (bias, norm scale). */
    public Tensor vector(String name, int n) {
        return keep(name, weights.load(name, n), new int[]{n}, ParamLayout.AS_IS);
    }

    /** A table as stored, e.g. an embedding [rows, cols]. */
    public Tensor table(String name, int rows, int cols) {
        return keep(name, weights.load(name, rows, cols), new int[]{rows, cols}, ParamLayout.AS_IS);
    }

    /** A Linear weight [out, in] stored as [in, out]. */
    public Tensor linear(String name, int out, int in) {
        return keep(name, repacked(name, "transposed", new int[]{out, in}, w -> HostLayout.transpose(w, out, in)),
                new int[]{out, in}, ParamLayout.TRANSPOSED);
    }

    /** A 1×1 conv weight [out, in, 1, 1] used as a Linear, stored as [in, out]. */
    public Tensor conv1x1AsLinear(String name, int out, int in) {
        return keep(name, repacked(name, "transposed", new int[]{out, in, 1, 1}, w -> HostLayout.transpose(w, out, in)),
                new int[]{out, in, 1, 1}, ParamLayout.TRANSPOSED);
    }

    /** A conv weight [out, in, k, k] stored as [k, k, in, out]. */
    public Tensor conv(String name, int out, int in, int k) {
        return keep(name, repacked(name, "hwio", new int[]{out, in, k, k}, w -> HostLayout.oihwToHwio(w, out, in, k, k)),
                new int[]{out, in, k, k}, ParamLayout.CONV_HWIO);
    }

    /** The weight in engine layout: from the weights' cache of repacked tensors, else loaded, repacked and offered to it. */
    private Tensor repacked(String name, String layout, int[] storedShape, java.util.function.UnaryOperator<Tensor> repack) {
        Tensor cached = weights.repacked(name, layout, storedShape);
        if (cached != null) return cached;
        try (Tensor w = weights.load(name, storedShape)) {
            Tensor packed = repack.apply(w);
            weights.keepRepacked(name, layout, packed);
            return packed;
        }
    }

    private Tensor keep(String name, Tensor host, int[] torchShape, ParamLayout layout) {
        return keep(name, host, torchShape, layout, trainable.test(name));
    }

    private Tensor keep(String name, Tensor host, int[] torchShape, ParamLayout layout, boolean trains) {
        Tensor dev = null;
        try {
            if (ops.precision() != DType.F32 && trains) {
                Tensor old = exact.put(name, ops.upload(host, DType.F32));
                if (old != null) old.close();
            }
            dev = trains && host.isReadOnly() ? ops.upload(host) : ops.adopt(host);
        } finally {
            if (dev != host) host.close();
        }
        Param old = params.put(name, new Param(name, dev, torchShape, layout));
        if (old != null) old.value().close();
        return dev;
    }

    /** The parameter back in its PyTorch layout, on the host (for saving a tuned model). */
    public Tensor toTorchLayout(Param p) {
        return toTorchLayout(p, p.value());
    }

    /** A tensor laid out like parameter {@code p} (its gradient, say), back in PyTorch layout on the host. */
    public Tensor toTorchLayout(Param p, Tensor likeParam) {
        try (Tensor h = ops.download(likeParam)) {
            int[] s = p.torchShape();
            return switch (p.layout()) {
                case AS_IS -> Tensor.host(s).copyFrom(h);
                case TRANSPOSED -> HostLayout.transpose(h, s[1], s[0]).reshapeOwned(s);
                case CONV_HWIO -> HostLayout.hwioToOihw(h, s[0], s[1], s[2], s[3]);
            };
        }
    }

    /** Overwrites parameter {@code p} (any element type: a half working copy or an fp32 master) with a host tensor in PyTorch layout (restoring a checkpoint). */
    public void assignFromTorchLayout(Param p, Tensor torch) {
        int[] s = p.torchShape();
        torch.requireShape(p.name(), s);
        Tensor packed = switch (p.layout()) {
            case AS_IS -> Tensor.host(s).copyFrom(torch);
            case TRANSPOSED -> HostLayout.transpose(torch, s[0], s[1]);
            case CONV_HWIO -> HostLayout.oihwToHwio(torch, s[0], s[1], s[2], s[3]);
        };
        try (packed; Tensor dev = ops.upload(packed, p.value().dtype())) {
            ops.copy(dev, p.value());
        }
    }

    @Override public void close() {
        params.values().forEach(p -> p.value().close());
        params.clear();
        linears.clear();
        exact.values().forEach(Tensor::close);
        exact.clear();
    }
}
