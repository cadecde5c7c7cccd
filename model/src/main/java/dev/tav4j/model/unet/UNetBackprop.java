package dev.tav4j.model.unet;

import dev.tav4j.model.nn.Grads;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One training forward of the UNet3D that keeps only the input of every block (gradient checkpointing per
 * block: each block recomputes its inside during {@link #backward}), then the backward pass, skip connections
 * included. Backpropagation stops below the earliest block that holds a trainable parameter.
 */
public final class UNetBackprop implements AutoCloseable {
    private final UNet3D u;
    private final int frames;
    private final Tensor text, siluTemb;
    private final Set<String> trainable;
    private final boolean checkpointing;
    /** Without checkpointing: each block's intermediates, keyed by the block's input tensor. */
    private final java.util.IdentityHashMap<Tensor, AutoCloseable> caches = new java.util.IdentityHashMap<>();
    private final List<Tensor> keep = new ArrayList<>();
    private final List<Tensor> skips = new ArrayList<>();
    // inputs of each block, by [block][layer]
    private final Tensor[][] downRes, downAttn, upPrev, upCat, upAttn;
    private final Tensor[] downDs, upUs, upBig;
    private Tensor midIn0, midAttnIn, midIn2, normIn, normed;
    private Tensor output;

    private UNetBackprop(UNet3D u, int frames, Tensor text, Tensor siluTemb, Set<String> trainable, boolean checkpointing) {
        this.checkpointing = checkpointing;
        this.u = u;
        this.frames = frames;
        this.text = text;
        this.siluTemb = siluTemb;
        this.trainable = trainable;
        int nb = u.down.size(), l = u.config().layersPerBlock();
        downRes = new Tensor[nb][l];
        downAttn = new Tensor[nb][l];
        downDs = new Tensor[nb];
        upPrev = new Tensor[nb][l + 1];
        upCat = new Tensor[nb][l + 1];
        upAttn = new Tensor[nb][l + 1];
        upUs = new Tensor[nb];
        upBig = new Tensor[nb];
    }

    /**
     * The training forward; {@code trainable} names the trainable parameters (to know where backprop may stop).
     * With {@code checkpointing} only block inputs are kept and each block recomputes its inside in the backward;
     * without it every intermediate is kept (faster, more memory).
     */
    public static UNetBackprop forward(UNet3D u, Tensor sample, int frames, float[] timesteps, Tensor text, Set<String> trainable,
                                       boolean checkpointing) {
        return start(new UNetBackprop(u, frames, text, u.timeEmbedding(timesteps), trainable, checkpointing), sample);
    }

    /** The same with the timesteps read from an F32 tensor [B] of the backend (a captured tuning step). */
    public static UNetBackprop forward(UNet3D u, Tensor sample, int frames, Tensor timesteps, Tensor text, Set<String> trainable,
                                       boolean checkpointing) {
        return start(new UNetBackprop(u, frames, text, u.timeEmbedding(timesteps), trainable, checkpointing), sample);
    }

    private static UNetBackprop start(UNetBackprop p, Tensor sample) {
        try {
            p.run(sample);
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    private Tensor k(Tensor t) {
        keep.add(t);
        return t;
    }

    private void run(Tensor sample) {
        Ops ops = u.ops();
        Tensor x = k(u.convIn.apply(ops, sample));
        skips.add(x);
        for (int i = 0; i < u.down.size(); i++) {
            UNetBlocks.Down d = u.down.get(i);
            for (int j = 0; j < d.resnets().size(); j++) {
                downRes[i][j] = x;
                x = k(res(d.resnets().get(j), x));
                if (!d.attentions().isEmpty()) {
                    downAttn[i][j] = x;
                    x = k(attn(d.attentions().get(j), x));
                }
                skips.add(x);
            }
            if (d.downsampler() != null) {
                downDs[i] = x;
                x = k(d.downsampler().apply(ops, x));
                skips.add(x);
            }
        }
        midIn0 = x;
        midAttnIn = x = k(res(u.mid.first(), x));
        midIn2 = x = k(attn(u.mid.attention(), x));
        x = k(res(u.mid.second(), x));
        int s = skips.size();
        for (int i = 0; i < u.up.size(); i++) {
            UNetBlocks.Up b = u.up.get(i);
            for (int j = 0; j < b.resnets().size(); j++) {
                Tensor skip = skips.get(--s);
                upPrev[i][j] = x;
                Tensor cat = k(ops.allocate(x.dim(0), x.dim(1), x.dim(2), x.dim(3) + skip.dim(3)));
                ops.concatChannels(x, skip, cat);
                upCat[i][j] = cat;
                x = k(res(b.resnets().get(j), cat));
                if (!b.attentions().isEmpty()) {
                    upAttn[i][j] = x;
                    x = k(attn(b.attentions().get(j), x));
                }
            }
            if (b.upsampler() != null) {
                Tensor next = skips.get(s - 1);
                upUs[i] = x;
                upBig[i] = k(ops.allocate(x.dim(0), next.dim(1), next.dim(2), x.dim(3)));
                ops.upsampleNearest(x, upBig[i]);
                x = k(b.upsampler().apply(ops, upBig[i]));
            }
        }
        normIn = x;
        normed = k(u.normOut.apply(ops, x, frames, true));
        output = u.convOut.apply(ops, normed);
    }

    /** The UNet's prediction (owned by this object). */
    public Tensor output() { return output; }

    /** Backpropagates dOut (the loss gradient w.r.t. the output) into the trainable parameters' gradients. */
    public void backward(Grads g, Tensor dOut) {
        Ops ops = u.ops();
        Tensor[] dSkip = new Tensor[skips.size()];
        try {
            Tensor dx = step(u.convOut.backwardInput(g, normed, dOut), null);
            dx = step(u.normOut.backward(g, normIn, frames, true, dx), dx);
            int s = skips.size();
            for (int i = 0; i < u.up.size(); i++) s -= u.up.get(i).resnets().size();
            for (int i = u.up.size() - 1; i >= 0; i--) {
                UNetBlocks.Up b = u.up.get(i);
                if (b.upsampler() != null) {
                    try (Tensor dBig = b.upsampler().backwardInput(g, upBig[i], dx)) {
                        Tensor d = ops.allocate(upUs[i].shape());
                        g.grad().upsampleNearestBackward(dBig, d);
                        dx = step(d, dx);
                    }
                }
                for (int j = b.resnets().size() - 1; j >= 0; j--) {
                    if (!b.attentions().isEmpty()) dx = step(b.attentions().get(j).backward(g, upAttn[i][j], text, frames, dx, tcache(upAttn[i][j])), dx);
                    try (Tensor dCat = b.resnets().get(j).backward(g, upCat[i][j], siluTemb, frames, dx, rcache(upCat[i][j]))) {
                        Tensor dPrev = ops.allocate(upPrev[i][j].shape());
                        int idx = s + (b.resnets().size() - 1 - j);
                        Tensor skipGrad = ops.allocate(skips.get(idx).shape());
                        g.grad().splitChannels(dCat, dPrev, skipGrad);
                        dSkip[idx] = skipGrad;
                        dx = step(dPrev, dx);
                    }
                }
                s += b.resnets().size();
            }
            dx = step(u.mid.second().backward(g, midIn2, siluTemb, frames, dx, rcache(midIn2)), dx);
            dx = step(u.mid.attention().backward(g, midAttnIn, text, frames, dx, tcache(midAttnIn)), dx);
            dx = step(u.mid.first().backward(g, midIn0, siluTemb, frames, dx, rcache(midIn0)), dx);
            int idx = skips.size() - 1;
            for (int i = u.down.size() - 1; i >= 0; i--) {
                if (!trainableAtOrBelow(i)) break;
                UNetBlocks.Down d = u.down.get(i);
                if (d.downsampler() != null) {
                    addSkip(ops, dx, dSkip[idx--]);
                    dx = step(d.downsampler().backwardInput(g, downDs[i], dx), dx);
                }
                for (int j = d.resnets().size() - 1; j >= 0; j--) {
                    addSkip(ops, dx, dSkip[idx--]);
                    if (!d.attentions().isEmpty()) {
                        dx = step(d.attentions().get(j).backward(g, downAttn[i][j], text, frames, dx, tcache(downAttn[i][j])), dx);
                        if (i == 0 && j == 0 || !trainableBefore(i, j)) break;
                    }
                    dx = step(d.resnets().get(j).backward(g, downRes[i][j], siluTemb, frames, dx, rcache(downRes[i][j])), dx);
                }
            }
            dx.close();
        } finally {
            for (Tensor t : dSkip) if (t != null) t.close();
        }
    }

    private Tensor res(ResnetBlock3D r, Tensor x) {
        if (checkpointing) return r.apply(u.ops(), x, siluTemb, frames);
        ResnetBlock3D.Cached c = r.forwardCache(u.ops(), x, siluTemb, frames);
        caches.put(x, c.cache());
        return c.out();
    }

    private Tensor attn(Transformer3D t, Tensor x) {
        if (checkpointing) return t.apply(u.ops(), x, text, frames);
        Transformer3D.Cached c = t.forwardCache(u.ops(), x, text, frames);
        caches.put(x, c.cache());
        return c.out();
    }

    private ResnetBlock3D.Cache rcache(Tensor input) { return (ResnetBlock3D.Cache) caches.get(input); }

    private Transformer3D.Cache tcache(Tensor input) { return (Transformer3D.Cache) caches.get(input); }

    private static Tensor step(Tensor next, Tensor prev) {
        if (prev != null) prev.close();
        return next;
    }

    private static void addSkip(Ops ops, Tensor dx, Tensor dSkip) {
        if (dSkip != null) ops.axpby(1f, dx, 1f, dSkip, dx);
    }

    /** Whether down block i or an earlier one has trainable parameters (else nothing below needs gradients). */
    private boolean trainableAtOrBelow(int block) {
        for (int i = 0; i <= block; i++) if (trainableIn("down_blocks." + i + ".")) return true;
        return false;
    }

    /** Whether anything before the attention (i, j) of the down path is trainable. */
    private boolean trainableBefore(int block, int layer) {
        for (int i = 0; i < block; i++) if (trainableIn("down_blocks." + i + ".")) return true;
        for (int j = 0; j < layer; j++) if (trainableIn("down_blocks." + block + ".attentions." + j + ".")) return true;
        return trainableIn("down_blocks." + block + ".resnets.");
    }

    private boolean trainableIn(String prefix) {
        for (String n : trainable) if (n.startsWith(prefix)) return true;
        return false;
    }

    @Override public void close() {
        for (AutoCloseable c : caches.values()) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        caches.clear();
        keep.forEach(Tensor::close);
        keep.clear();
        if (output != null) output.close();
        siluTemb.close();
    }
}
