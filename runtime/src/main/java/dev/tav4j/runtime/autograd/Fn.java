package dev.tav4j.runtime.autograd;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BinaryOperator;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The differentiable ops the models are written against, and the tape that differentiates them. Each op here is one
 * rule: its shape check, its forward (a kernel of {@link Ops}), and its backward (kernels of {@link GradOps}) right
 * beside it, the same for every backend.
 *
 * <p><b>Ownership.</b> Every tensor an op returns belongs to the innermost scope and is released when that scope
 * ends, unless it is the scope's result or something still holds it (a view, a skip kept with {@link #retain}, or
 * the tape saving it for the backward). {@link #then} and {@link #checkpoint} run a piece of the model in a scope of
 * its own and hand it their input, so a model written as {@code x = f.then(x, in -> ...)} frees each activation as
 * soon as the next one is made, as hand-written {@code close()} calls did. Tensors this object did not make
 * (weights, a caller's inputs) are never released here. Ops whose first operand is a residual stream may write the
 * result into it when nothing else holds it and no gradient flows through it ({@code x = x + branch} in place).
 *
 * <p><b>The tape.</b> A training {@code Fn} ({@link #training}) records, for every op that has an input needing a
 * gradient (a trainable parameter, or a tensor computed from one), what its backward needs; {@link #backward}
 * walks the records in reverse and accumulates gradients only along those paths: weight gradients go into the
 * parameters' buffers ({@link Grads}), nothing is computed below the first trainable parameter. With
 * checkpointing, a {@link #checkpoint} block keeps only its inputs and is re-run, recorded, during the backward
 * (PyTorch's per-block gradient checkpointing). Closing the {@code Fn} releases everything the step made.
 */
public final class Fn implements AutoCloseable {
    private final Ops ops;
    private final Grads params;          // null: inference, nothing is recorded
    private final boolean checkpointing;
    private GradOps grad;

    /** References held on each tensor this object made; a view also holds its parent. */
    private static final class Ref {
        int count = 1;
        final Tensor parent;

        Ref(Tensor parent) { this.parent = parent; }
    }

    private final Map<Tensor, Ref> refs = new IdentityHashMap<>();
    private Scope scope = new Scope(null);

    /** One backward rule: given the gradient of the op's output, accumulate the gradients of its inputs. */
    @FunctionalInterface
    private interface Rule {
        void backward(Tensor dOut);
    }

    private record Node(Tensor out, Rule rule, Tensor[] saved) {}

    private List<Node> tape;            // non-null while recording
    private boolean saving;             // false inside a checkpoint's first forward: gradients tracked, nothing kept
    private boolean recomputing;        // inside a checkpoint's re-run: no nested checkpoints
    private final Set<Tensor> needsGrad = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Map<Tensor, Tensor> grads = new IdentityHashMap<>();
    private final Set<Tensor> leaves = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Map<Tensor, Tensor> leafGrads = new IdentityHashMap<>();

    private Fn(Ops ops, Grads params, boolean checkpointing) {
        this.ops = ops;
        this.params = params;
        this.checkpointing = checkpointing;
        if (params != null) {
            tape = new ArrayList<>();
            saving = true;
        }
    }

    /** Ops without a tape (inference): nothing is recorded, intermediates are released as scopes end. */
    public static Fn inference(Ops ops) {
        return new Fn(ops, null, false);
    }

    /**
     * Ops recording a tape for one training step: the parameters with a buffer in {@code params} train. With
     * {@code checkpointing} a {@link #checkpoint} block keeps only its inputs and is recomputed in the backward.
     */
    public static Fn training(Ops ops, Grads params, boolean checkpointing) {
        return new Fn(ops, params, checkpointing);
    }

    public Ops ops() { return ops; }

    /** Whether a tape records (a training step). */
    public boolean recording() { return tape != null; }

    // ---------------------------------------------------------------------------------------------- scopes

    /** Tensors released together when a piece of the model returns. */
    private final class Scope {
        final Scope parent;
        final ArrayList<Tensor> owned = new ArrayList<>();

        Scope(Scope parent) { this.parent = parent; }

        boolean remove(Tensor t) {
            for (int i = owned.size() - 1; i >= 0; i--) {
                if (owned.get(i) == t) {
                    owned.remove(i);
                    return true;
                }
            }
            return false;
        }

        /** Hands t (its result) to the parent scope: moves this scope's reference, or adds one. */
        Tensor keep(Tensor t) {
            if (!refs.containsKey(t)) return t;  // not made here (a weight or an input): nobody releases it
            if (!remove(t)) refs.get(t).count++;
            parent.owned.add(t);
            return t;
        }

        void close() {
            for (int i = owned.size() - 1; i >= 0; i--) release(owned.get(i));
            owned.clear();
            scope = parent;
        }
    }

    private Scope open() {
        scope = new Scope(scope);
        return scope;
    }

    /** Moves the current scope's reference to t into {@code into} (borrowed when the current scope holds none). */
    private void handOver(Tensor t, Scope into) {
        if (t != null && into.parent.remove(t)) into.owned.add(t);
    }

    /**
     * Runs {@code body} on x in a scope of its own: x is handed over (the caller gives up its reference: it is released
     * when body returns unless body returns it or something else holds it), and every tensor body makes except its
     * result is released when it returns.
     */
    public Tensor then(Tensor x, UnaryOperator<Tensor> body) {
        Scope s = open();
        try {
            handOver(x, s);
            return s.keep(body.apply(x));
        } finally {
            s.close();
        }
    }

    /** {@link #then(Tensor, UnaryOperator)} with two inputs handed over. */
    public Tensor then(Tensor a, Tensor b, BinaryOperator<Tensor> body) {
        Scope s = open();
        try {
            handOver(a, s);
            handOver(b, s);
            return s.keep(body.apply(a, b));
        } finally {
            s.close();
        }
    }

    /** Runs {@code body} in a scope of its own, borrowing what it reads: everything it makes but its result is released. */
    public Tensor scoped(Supplier<Tensor> body) {
        Scope s = open();
        try {
            return s.keep(body.get());
        } finally {
            s.close();
        }
    }

    /** One more reference to t held by the current scope (a skip connection read later), handed over or released like any other. */
    public Tensor retain(Tensor t) {
        Ref r = refs.get(t);
        if (r != null) {
            r.count++;
            scope.owned.add(t);
        }
        return t;
    }

    /**
     * Takes t out of this object's care: the caller owns it and closes it. t must be held by the current scope only
     * (a model's result); a view is copied first so the caller gets storage of its own.
     */
    public Tensor detach(Tensor t) {
        Ref r = refs.get(t);
        if (r == null) return t;
        if (r.parent != null || r.count != 1 || !scope.remove(t)) {
            Tensor copy = ops.allocate(t.dtype(), t.shape());
            ops.copy(t, copy);
            return copy;
        }
        refs.remove(t);
        return t;
    }

    private Tensor track(Tensor t, Tensor viewOf) {
        refs.put(t, new Ref(viewOf));
        if (viewOf != null) refs.get(viewOf).count++;
        return t;
    }

    /** A new tensor of the backend held by the current scope. */
    private Tensor output(int... shape) {
        Tensor t = ops.allocate(shape);
        track(t, null);
        scope.owned.add(t);
        return t;
    }

    private Tensor hold(Tensor t) {
        Ref r = refs.get(t);
        if (r != null) r.count++;
        return t;
    }

    private void release(Tensor t) {
        Ref r = refs.get(t);
        if (r == null || --r.count > 0) return;
        refs.remove(t);
        t.close();
        if (r.parent != null) release(r.parent);
    }

    /**
     * Whether an op may write its result into t: made here, held once and by the current scope, not a view, and
     * no gradient flows through it (the tape identifies values by tensor).
     */
    private boolean reusable(Tensor t) {
        Ref r = refs.get(t);
        return r != null && r.count == 1 && r.parent == null && !needsGrad(t) && scope.owned.contains(t);
    }

    // ---------------------------------------------------------------------------------------------- the tape

    private boolean needsGrad(Tensor t) {
        return t != null && tape != null && (needsGrad.contains(t) || params.of(t) != null);
    }

    private boolean anyNeedsGrad(Tensor... ts) {
        for (Tensor t : ts) if (needsGrad(t)) return true;
        return false;
    }

    private GradOps grad() {
        if (grad == null) grad = ops.grad();
        return grad;
    }

    /**
     * Asks for the gradient of an input (not a parameter), e.g. the latents: after {@link #backward} it is
     * {@link #gradient(Tensor)}. Only while a tape records; returns t.
     */
    public Tensor requireGrad(Tensor t) {
        if (tape == null) throw new IllegalStateException("requireGrad: this Fn records no tape");
        leaves.add(t);
        needsGrad.add(t);
        return t;
    }

    /** The gradient of a {@link #requireGrad} input after {@link #backward} (held by this object until it closes), or null if none reached it. */
    public Tensor gradient(Tensor t) {
        return leafGrads.get(t);
    }

    /** How many tensors this object made are still held (by scopes, views, the tape or gradients): a leak check. */
    public int heldTensors() {
        return refs.size();
    }

    /** Records op output {@code out}'s backward when an input needs a gradient; {@code saved} stay alive until it runs. */
    private void record(Tensor out, Tensor[] inputs, Rule rule, Tensor... saved) {
        if (!anyNeedsGrad(inputs)) return;
        needsGrad.add(out);
        if (!saving) return;
        for (Tensor s : saved) hold(s);
        tape.add(new Node(out, rule, saved));
    }

    private static Tensor[] in(Tensor... ts) { return ts; }

    /** A new gradient tensor held by the scope of the backward rule running now. */
    private Tensor gradOf(Tensor like) {
        return output(like.shape());
    }

    /** Adds g to the gradient of x (when x needs one). */
    private void accumulate(Tensor x, Tensor g) {
        if (!needsGrad.contains(x)) return;
        Tensor prev = grads.get(x);
        if (prev == null) {
            grads.put(x, hold(g));
            return;
        }
        Ref r = refs.get(prev);
        if (r != null && r.count == 1 && r.parent == null) {
            ops.axpby(1f, prev, 1f, g, prev);
            return;
        }
        Tensor sum = track(ops.allocate(prev.dtype(), prev.shape()), null);
        ops.axpby(1f, prev, 1f, g, sum);
        grads.put(x, sum);
        release(prev);
    }

    /**
     * Backpropagates {@code dOut} (the loss gradient w.r.t. {@code out}, left unchanged) through everything recorded,
     * accumulating into the parameters' gradient buffers. The tape is consumed: one backward per step.
     */
    public void backward(Tensor out, Tensor dOut) {
        if (tape == null) throw new IllegalStateException("backward: this Fn records no tape (an inference Fn)");
        dOut.requireShape("backward: dOut", out.shape());
        if (!needsGrad(out)) throw new IllegalStateException("backward: the output does not depend on any trainable parameter");
        accumulate(out, dOut);
        run(tape);
        for (Map.Entry<Tensor, Tensor> e : grads.entrySet()) {
            if (leaves.contains(e.getKey())) leafGrads.put(e.getKey(), e.getValue());
            else release(e.getValue());
        }
        grads.clear();
    }

    private void run(List<Node> nodes) {
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.set(i, null);
            Tensor g = grads.remove(n.out());
            try {
                if (g != null) {
                    Scope s = open();
                    try {
                        n.rule().backward(g);
                    } finally {
                        s.close();
                    }
                }
            } finally {
                if (g != null) release(g);
                for (Tensor t : n.saved()) release(t);
            }
        }
        nodes.clear();
    }

    /**
     * A block of the model as a unit of gradient checkpointing: {@code body} runs on x in a scope of its own (as
     * {@link #then}); when a tape records with checkpointing on, only x and {@code reads} (every other tensor body
     * reads that this object made, e.g. the time embedding) are kept, and body is run again, recorded, when the
     * backward reaches it. Without checkpointing (or inference) this is {@link #then}.
     */
    public Tensor checkpoint(Tensor x, UnaryOperator<Tensor> body, Tensor... reads) {
        if (!checkpointing || tape == null || !saving || recomputing) return then(x, body);
        Tensor[] inputs = Arrays.copyOf(reads, reads.length + 1);
        inputs[reads.length] = x;
        for (Tensor t : inputs) hold(t);
        Tensor out;
        saving = false;
        try {
            out = then(x, body);
        } finally {
            saving = true;
        }
        if (!needsGrad.contains(out)) {
            for (Tensor t : inputs) release(t);
            return out;
        }
        tape.add(new Node(out, dOut -> {
            List<Node> outer = tape;
            tape = new ArrayList<>();
            recomputing = true;
            try {
                Tensor again = body.apply(x);  // in the backward rule's scope: released with it
                if (!needsGrad.contains(again)) throw new IllegalStateException("checkpoint: the recomputed block needs no gradient");
                accumulate(again, dOut);
                run(tape);
            } finally {
                tape = outer;
                recomputing = false;
            }
        }, inputs));
        return out;
    }

    // ---------------------------------------------------------------------------------------------- ops

    /**
     * out = x·w + bias (+ residual): x [..., K], w [K, N] (a Linear weight as stored), bias [N] or null, residual
     * [..., N] or null. The residual (a residual stream: {@code x = x + proj(h)}) may receive the result in place.
     */
    public Tensor linear(Tensor x, Tensor w, Tensor bias, Tensor residual) {
        int k = w.dim(0), n = w.dim(1);
        x.requireShape("linear: x", lastDim(x, k));
        if (bias != null) bias.requireShape("linear: bias", n);
        int[] shape = lastDim(x, n);
        if (residual != null) residual.requireShape("linear: residual", shape);
        Tensor out = residual != null && reusable(residual) ? residual : output(shape);
        ops.matmul(x, w, bias, residual, out);
        Tensor dW = gradBuffer(w), dB = gradBuffer(bias);
        record(out, in(x, w, bias, residual), dY -> {
            if (dW != null) grad().matmulBackwardWeight(x, dY, dW, dB);
            else if (dB != null) throw new UnsupportedOperationException("linear: a trainable bias without its weight");
            if (needsGrad(x)) {
                Tensor dX = gradOf(x);
                grad().matmulBackwardInput(dY, w, dX);
                accumulate(x, dX);
            }
            if (residual != null) accumulate(residual, dY);
        }, dW != null ? new Tensor[]{x} : new Tensor[0]);
        return out;
    }

    /**
     * 2D convolution per image ({@link Ops#conv2d}): x [N, H, W, Ci], w [kh, kw, Ci, Co], bias [Co] or null, plus a
     * residual [N, Ho, Wo, Co] or null added after the bias (never in place: the kernels read it while writing).
     */
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly, Tensor residual) {
        int kh = w.dim(0), kw = w.dim(1), ci = w.dim(2), co = w.dim(3);
        x.requireShape("conv2d: x", x.dim(0), x.dim(1), x.dim(2), ci);
        if (bias != null) bias.requireShape("conv2d: bias", co);
        int extra = padBottomRightOnly ? 1 : 2 * padding;
        int ho = (x.dim(1) + extra - kh) / stride + 1, wo = (x.dim(2) + extra - kw) / stride + 1;
        if (ho <= 0 || wo <= 0) throw new IllegalArgumentException("conv2d: input " + x + " is smaller than the " + kh + "×" + kw + " kernel");
        if (residual != null) residual.requireShape("conv2d: residual", x.dim(0), ho, wo, co);
        Tensor out = output(x.dim(0), ho, wo, co);
        ops.conv2d(x, w, bias, stride, padding, padBottomRightOnly, residual, out);
        Tensor dW = gradBuffer(w), dB = gradBuffer(bias);
        record(out, in(x, w, bias, residual), dY -> {
            if (dW != null) grad().conv2dBackwardWeight(x, dY, stride, padding, padBottomRightOnly, dW, dB);
            else if (dB != null) throw new UnsupportedOperationException("conv2d: a trainable bias without its weight");
            if (needsGrad(x)) {
                Tensor dX = gradOf(x);
                grad().conv2dBackwardInput(dY, w, stride, padding, padBottomRightOnly, dX);
                accumulate(x, dX);
            }
            if (residual != null) accumulate(residual, dY);
        }, dW != null ? new Tensor[]{x} : new Tensor[0]);
        return out;
    }

    /**
     * GroupNorm of x [N, H, W, C] with statistics pooled over {@code framesPooled} consecutive images, affine, then
     * SiLU when asked ({@link Ops#groupNorm}).
     */
    public Tensor groupNorm(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu) {
        int c = x.dim(-1);
        if (x.rank() != 4 || c % groups != 0 || x.dim(0) % framesPooled != 0)
            throw new IllegalArgumentException("groupNorm: x " + x + " with " + groups + " groups pooled over " + framesPooled + " images");
        gamma.requireShape("groupNorm: gamma", c);
        beta.requireShape("groupNorm: beta", c);
        Tensor out = output(x.shape());
        ops.groupNorm(x, groups, framesPooled, gamma, beta, eps, silu, out);
        Tensor dG = gradBuffer(gamma), dB = gradBuffer(beta);
        record(out, in(x, gamma, beta), dY -> {
            if (dG != null || dB != null)
                grad().groupNormBackwardAffine(x, groups, framesPooled, gamma, beta, eps, silu, dY, dG, dB);
            if (needsGrad(x)) {
                Tensor dX = gradOf(x);
                grad().groupNormBackward(x, groups, framesPooled, gamma, beta, eps, silu, dY, dX);
                accumulate(x, dX);
            }
        }, x);
        return out;
    }

    /** LayerNorm over the last dimension. */
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int c = x.dim(-1);
        gamma.requireShape("layerNorm: gamma", c);
        beta.requireShape("layerNorm: beta", c);
        Tensor out = output(x.shape());
        ops.layerNorm(x, gamma, beta, eps, out);
        Tensor dG = gradBuffer(gamma), dB = gradBuffer(beta);
        record(out, in(x, gamma, beta), dY -> {
            if (dG != null || dB != null) grad().layerNormBackwardAffine(x, gamma, eps, dY, dG, dB);
            if (needsGrad(x)) {
                Tensor dX = gradOf(x);
                grad().layerNormBackward(x, gamma, eps, dY, dX);
                accumulate(x, dX);
            }
        }, x);
        return out;
    }

    /**
     * Fused multi-head attention ({@link Ops#attention}): q [N, L, D], k and v [Nk, Lk, D]; the result has q's shape.
     * The backward recomputes the softmax from q, k and v (no score matrix is kept).
     */
    public Tensor attention(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k, Tensor v) {
        if (q.rank() != 3 || q.dim(2) % heads != 0)
            throw new IllegalArgumentException("attention: q " + q + " for " + heads + " heads");
        k.requireShape("attention: k", k.dim(0), k.dim(1), q.dim(2));
        v.requireShape("attention: v", k.shape());
        Tensor out = output(q.shape());
        ops.attention(kind, frames, heads, scale, q, k, v, out);
        record(out, in(q, k, v), dOut -> {
            boolean kv = needsGrad(k) || needsGrad(v);
            Tensor dQ = gradOf(q), dK = kv ? gradOf(k) : null, dV = kv ? gradOf(v) : null;
            grad().attentionBackward(kind, frames, heads, scale, q, k, v, dOut, dQ, dK, dV);
            accumulate(q, dQ);
            if (kv) {
                accumulate(k, dK);
                accumulate(v, dV);
            }
        }, q, k, v);
        return out;
    }

    /** GEGLU: x [..., 2D] split as (a, gate) → [..., D] = a · gelu(gate). */
    public Tensor geglu(Tensor x) {
        if (x.dim(-1) % 2 != 0) throw new IllegalArgumentException("geglu: x " + x + " has an odd last dimension");
        Tensor out = output(lastDim(x, x.dim(-1) / 2));
        ops.geglu(x, out);
        record(out, in(x), dY -> {
            Tensor dX = gradOf(x);
            grad().gegluBackward(x, dY, dX);
            accumulate(x, dX);
        }, x);
        return out;
    }

    /** act(x), element-wise. */
    public Tensor activation(Activation act, Tensor x) {
        Tensor out = output(x.shape());
        ops.activation(act, x, out);
        record(out, in(x), dY -> {
            Tensor dX = gradOf(x);
            grad().activationBackward(act, x, dY, dX);
            accumulate(x, dX);
        }, x);
        return out;
    }

    /** Nearest-neighbour resize of x [N, H, W, C] to [N, h, w, C] (PyTorch's 'nearest'). */
    public Tensor upsampleNearest(Tensor x, int h, int w) {
        if (x.rank() != 4) throw new IllegalArgumentException("upsampleNearest: x " + x + " is not [N, H, W, C]");
        Tensor out = output(x.dim(0), h, w, x.dim(3));
        ops.upsampleNearest(x, out);
        record(out, in(x), dY -> {
            Tensor dX = gradOf(x);
            grad().upsampleNearestBackward(dY, dX);
            accumulate(x, dX);
        });
        return out;
    }

    /** Concatenation along the last (channel) dimension: [..., Ca + Cb]. */
    public Tensor concatChannels(Tensor a, Tensor b) {
        int[] s = a.shape();
        s[s.length - 1] = b.dim(-1);
        b.requireShape("concatChannels: b", s);
        Tensor out = output(lastDim(a, a.dim(-1) + b.dim(-1)));
        ops.concatChannels(a, b, out);
        record(out, in(a, b), dOut -> {
            Tensor dA = gradOf(a), dB = gradOf(b);
            grad().splitChannels(dOut, dA, dB);
            accumulate(a, dA);
            accumulate(b, dB);
        });
        return out;
    }

    /** x [N, H, W, C] + rows[n / repeat, :] per image (the time embedding added per video); may reuse x. */
    public Tensor addChannelBias(Tensor x, Tensor rows, int repeat) {
        if (x.rank() != 4 || x.dim(0) % repeat != 0) throw new IllegalArgumentException("addChannelBias: x " + x + " with " + repeat + " images per row");
        rows.requireShape("addChannelBias: rows", x.dim(0) / repeat, x.dim(3));
        Tensor out = reusable(x) ? x : output(x.shape());
        ops.addChannelBias(x, rows, repeat, out);
        record(out, in(x, rows), dY -> {
            accumulate(x, dY);
            if (needsGrad(rows)) {
                Tensor dRows = gradOf(rows);
                grad().addChannelBiasBackward(dY, repeat, dRows);
                accumulate(rows, dRows);
            }
        });
        return out;
    }

    /** a·x + b·y over equal shapes; may reuse x. */
    public Tensor axpby(float a, Tensor x, float b, Tensor y) {
        y.requireShape("axpby: y", x.shape());
        Tensor out = reusable(x) ? x : output(x.shape());
        ops.axpby(a, x, b, y, out);
        record(out, in(x, y), dOut -> {
            accumulate(x, scaled(a, dOut));
            accumulate(y, scaled(b, dOut));
        });
        return out;
    }

    /** x + y. */
    public Tensor add(Tensor x, Tensor y) {
        return axpby(1f, x, 1f, y);
    }

    /** a·x (a new tensor: x may still be read). */
    public Tensor scale(float a, Tensor x) {
        Tensor out = output(x.shape());
        ops.axpby(a, x, 0f, x, out);
        record(out, in(x), dOut -> accumulate(x, scaled(a, dOut)));
        return out;
    }

    /** x ⊙ y over equal shapes (x and y may be the same tensor: x²). */
    public Tensor mul(Tensor x, Tensor y) {
        y.requireShape("mul: y", x.shape());
        Tensor out = output(x.shape());
        ops.mul(x, y, out);
        boolean dx = needsGrad(x), dy = needsGrad(y);
        record(out, in(x, y), dOut -> {
            if (dx) {
                Tensor g = gradOf(x);
                ops.mul(dOut, y, g);
                accumulate(x, g);
            }
            if (dy) {
                Tensor g = gradOf(y);
                ops.mul(dOut, x, g);
                accumulate(y, g);
            }
        }, dx && dy ? new Tensor[]{x, y} : dx ? new Tensor[]{y} : new Tensor[]{x});
        return out;
    }

    /**
     * The sum of every element of x as a tensor [1] on the backend (a loss term: nothing is read back); its gradient
     * is dOut[0] in every element.
     */
    public Tensor sum(Tensor x) {
        Tensor out = output(1);
        ops.sum(x, out);
        int[] shape = x.shape();
        record(out, in(x), dOut -> {
            Tensor g = output(shape);
            ops.fill(dOut, g);
            accumulate(x, g);
        });
        return out;
    }

    /**
     * A new tensor of the backend held by the current scope, contents unspecified, for a kernel the caller runs on it
     * (e.g. the noisy latents of a diffusion step, formed with device coefficients): a constant to the tape.
     */
    public Tensor empty(int... shape) {
        return output(shape);
    }

    /** A constant tensor of {@code shape} filled with {@code value} (no gradient). */
    public Tensor full(float value, int... shape) {
        Tensor out = output(shape);
        ops.fill(value, out);
        return out;
    }

    /**
     * Splits x [..., C] along the last dimension into a [..., ca] and b [..., C − ca] (e.g. the VAE encoder's moments
     * into mean and log-variance). Both belong to the current scope. The gradient of x gathers each part's gradient
     * into its channels (zeros where a part received none).
     */
    public Tensor[] splitChannels(Tensor x, int ca) {
        int c = x.dim(-1);
        if (ca <= 0 || ca >= c) throw new IllegalArgumentException("splitChannels: " + ca + " of the " + c + " channels of x " + x);
        int[] sa = lastDim(x, ca), sb = lastDim(x, c - ca), sx = x.shape();
        Tensor a = output(sa), b = output(sb);
        ops.splitChannels(x, a, b);
        record(a, in(x), dA -> {
            Tensor zeros = output(sb), g = output(sx);
            ops.fill(0f, zeros);
            ops.concatChannels(dA, zeros, g);
            accumulate(x, g);
        });
        record(b, in(x), dB -> {
            Tensor zeros = output(sa), g = output(sx);
            ops.fill(0f, zeros);
            ops.concatChannels(zeros, dB, g);
            accumulate(x, g);
        });
        return new Tensor[]{a, b};
    }

    /**
     * Images start … start + count − 1 of x [N, ...] as a tensor of their own [count, ...] (a copy: the tape may keep
     * it while x is released). The gradient of x is the part's gradient in those images and zeros elsewhere.
     */
    public Tensor sliceImages(Tensor x, int start, int count) {
        if (start < 0 || count <= 0 || start + count > x.dim(0))
            throw new IllegalArgumentException("sliceImages: images " + start + "+" + count + " of x " + x);
        int[] s = x.shape(), sx = x.shape();
        s[0] = count;
        Tensor out = output(s);
        ops.copy(x.slice(start, count), out);
        record(out, in(x), dOut -> {
            Tensor g = output(sx);
            ops.fill(0f, g);
            ops.copy(dOut, g.slice(start, count));
            accumulate(x, g);
        });
        return out;
    }

    /** The images of {@code parts} one after another: [Σ Nᵢ, ...] (every part with the same shape past the first dimension). */
    public Tensor concatImages(List<Tensor> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("concatImages: no parts");
        int[] s = parts.getFirst().shape();
        int n = 0;
        for (Tensor p : parts) {
            int[] ps = p.shape();
            ps[0] = s[0];
            if (!Arrays.equals(ps, s)) throw new IllegalArgumentException("concatImages: " + p + " after " + parts.getFirst());
            n += p.dim(0);
        }
        s[0] = n;
        Tensor out = output(s);
        int at = 0;
        for (Tensor p : parts) {
            ops.copy(p, out.slice(at, p.dim(0)));
            at += p.dim(0);
        }
        Tensor[] inputs = parts.toArray(Tensor[]::new);
        record(out, inputs, dOut -> {
            int from = 0;
            for (Tensor p : inputs) {
                if (needsGrad(p)) {
                    Tensor g = gradOf(p);
                    ops.copy(dOut.slice(from, p.dim(0)), g);
                    accumulate(p, g);
                }
                from += p.dim(0);
            }
        });
        return out;
    }

    private Tensor scaled(float a, Tensor g) {
        if (a == 1f) return g;
        Tensor t = gradOf(g);
        ops.axpby(a, g, 0f, g, t);
        return t;
    }

    /** The sinusoidal timestep embedding [B, dim] of an F32 tensor of timesteps [B] (no gradient). */
    public Tensor timestepEmbedding(Tensor timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift) {
        Tensor out = output(timesteps.dim(0), dim);
        ops.timestepEmbedding(timesteps, dim, flipSinToCos, downscaleFreqShift, out);
        return out;
    }

    /** The same from host floats. */
    public Tensor timestepEmbedding(float[] timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift) {
        Tensor out = output(timesteps.length, dim);
        ops.timestepEmbedding(timesteps, dim, flipSinToCos, downscaleFreqShift, out);
        return out;
    }

    /** Rows of {@code table} [rows, D] by id: [ids.length, D] (an embedding lookup; the table does not train). */
    public Tensor gatherRows(Tensor table, int[] ids) {
        if (needsGrad(table)) throw new UnsupportedOperationException("gatherRows: training an embedding table is not supported");
        Tensor out = output(ids.length, table.dim(1));
        ops.gatherRows(table, ids, out);
        return out;
    }

    /** The same values under another shape (a view; its gradient is the output's, reshaped back). */
    public Tensor reshape(Tensor x, int... shape) {
        Tensor v = x.reshape(shape);
        boolean made = refs.containsKey(x);
        if (!made && !needsGrad(x)) return v;  // a view of a weight or an input: nothing to hold or record
        track(v, made ? x : null);
        scope.owned.add(v);
        record(v, in(x), dV -> accumulate(x, reshapeGrad(dV, x.shape())));
        return v;
    }

    private Tensor reshapeGrad(Tensor g, int[] shape) {
        Tensor v = g.reshape(shape);
        if (refs.containsKey(g)) {
            track(v, g);
            scope.owned.add(v);
        }
        return v;
    }

    private Tensor gradBuffer(Tensor param) {
        return tape == null || param == null ? null : params.of(param);
    }

    private static int[] lastDim(Tensor x, int last) {
        int[] s = x.shape();
        s[s.length - 1] = last;
        return s;
    }

    /** Releases everything this object made that is still held (the step's intermediates, an unused tape). */
    @Override public void close() {
        if (tape != null) {
            for (Node n : tape) if (n != null) for (Tensor t : n.saved()) release(t);
            tape.clear();
        }
        for (Tensor g : grads.values()) release(g);
        grads.clear();
        for (Tensor g : leafGrads.values()) release(g);
        leafGrads.clear();
        leaves.clear();
        while (scope.parent != null) scope.close();
        scope.close();
        scope = new Scope(null);
        for (Tensor t : new ArrayList<>(refs.keySet())) t.close();  // nothing should be left; never leak device memory
        refs.clear();
        needsGrad.clear();
    }
}
