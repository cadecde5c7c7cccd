package dev.tav4j.model.clip;

import dev.tav4j.model.nn.LayerNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.MultiHeadAttention;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

/** One pre-LN layer of a CLIP tower (transformers' CLIPEncoderLayer): x + attention(ln1(x)), then x + mlp(ln2(x)). */
record ClipEncoderLayer(LayerNorm ln1, MultiHeadAttention attn, LayerNorm ln2, Linear fc1, Linear fc2, Activation act) {

    /** {@code prefix} ends with the layer's dot, e.g. {@code text_model.encoder.layers.0.}. */
    static ClipEncoderLayer load(ParamStore p, String prefix, int d, int intermediate, int heads, float eps,
                                 AttentionKind kind, Activation act) {
        return new ClipEncoderLayer(
                LayerNorm.load(p, prefix + "layer_norm1", d, eps),
                new MultiHeadAttention(
                        Linear.load(p, prefix + "self_attn.q_proj", d, d, true),
                        Linear.load(p, prefix + "self_attn.k_proj", d, d, true),
                        Linear.load(p, prefix + "self_attn.v_proj", d, d, true),
                        Linear.load(p, prefix + "self_attn.out_proj", d, d, true), heads, kind),
                LayerNorm.load(p, prefix + "layer_norm2", d, eps),
                Linear.load(p, prefix + "mlp.fc1", d, intermediate, true),
                Linear.load(p, prefix + "mlp.fc2", intermediate, d, true),
                act);
    }

    /** hidden_act of a CLIP config: gelu or quick_gelu (the configs' parsers accept nothing else). */
    static Activation activation(String hiddenAct) {
        return hiddenAct.equals("gelu") ? Activation.GELU : Activation.QUICK_GELU;
    }

    /** x [N, L, d] → [N, L, d]; each half runs in a scope of its own, so its intermediates go when it returns. */
    Tensor forward(Fn f, Tensor x) {
        x = f.then(x, in -> f.add(in, attn.forward(f, ln1.forward(f, in), null, 1, null)));
        return f.then(x, in -> f.add(in, fc2.forward(f, f.activation(act, fc1.forward(f, ln2.forward(f, in))))));
    }
}
