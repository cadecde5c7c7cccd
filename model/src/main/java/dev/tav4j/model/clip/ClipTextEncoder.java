package dev.tav4j.model.clip;

import dev.tav4j.model.config.ClipTextConfig;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.nn.LayerNorm;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

import java.util.ArrayList;
import java.util.List;

/** transformers' CLIPTextModel: token + position embeddings, pre-LN causal transformer, final LayerNorm. */
public final class ClipTextEncoder implements AutoCloseable {
    private final Ops ops;
    private final ClipTextConfig cfg;
    private final ParamStore params;
    private final Tensor tokenEmbedding;
    private final Tensor positionEmbedding;
    private final List<ClipEncoderLayer> layers = new ArrayList<>();
    private final LayerNorm finalNorm;

    public ClipTextEncoder(Ops ops, ClipTextConfig cfg, Weights weights) {
        this.ops = ops;
        this.cfg = cfg;
        this.params = new ParamStore(ops, weights);
        int d = cfg.hiddenSize();
        String pre = "text_model.";
        tokenEmbedding = params.table(pre + "embeddings.token_embedding.weight", cfg.vocabSize(), d);
        positionEmbedding = params.table(pre + "embeddings.position_embedding.weight", cfg.maxPositions(), d);
        Activation act = ClipEncoderLayer.activation(cfg.hiddenAct());
        for (int i = 0; i < cfg.layers(); i++)
            layers.add(ClipEncoderLayer.load(params, pre + "encoder.layers." + i + ".", d, cfg.intermediateSize(), cfg.heads(),
                    cfg.layerNormEps(), AttentionKind.CAUSAL, act));
        finalNorm = LayerNorm.load(params, pre + "final_layer_norm", d, cfg.layerNormEps());
    }

    public ClipTextConfig config() { return cfg; }

    /** Every parameter by its transformers name (for saving). */
    public ParamStore params() { return params; }

    /** ids: batch × length token ids → last_hidden_state [batch, length, hidden] (new tensor on the backend). */
    public Tensor encode(int[][] ids) {
        int b = ids.length, len = ids[0].length, d = cfg.hiddenSize();
        if (len > cfg.maxPositions())
            throw new IllegalArgumentException("input_ids: " + len + " tokens but the text encoder has " + cfg.maxPositions() + " positions");
        int[] flat = new int[b * len];
        int[] pos = new int[b * len];
        for (int i = 0; i < b; i++) {
            if (ids[i].length != len) throw new IllegalArgumentException("input_ids: rows of different lengths");
            for (int j = 0; j < len; j++) {
                int id = ids[i][j];
                if (id < 0 || id >= cfg.vocabSize())
                    throw new IllegalArgumentException("input_ids[" + i + "][" + j + "] = " + id + " outside the vocabulary of " + cfg.vocabSize());
                flat[i * len + j] = id;
                pos[i * len + j] = j;
            }
        }
        try (Fn f = Fn.inference(ops)) {
            return f.detach(encode(f, flat, pos, b, len));
        }
    }

    /** Embeddings, then each pre-LN layer (x + attention(ln1(x)), x + mlp(ln2(x))), then the final LayerNorm. */
    private Tensor encode(Fn f, int[] ids, int[] positions, int batch, int len) {
        int d = cfg.hiddenSize();
        Tensor x = f.scoped(() -> f.reshape(f.add(f.gatherRows(tokenEmbedding, ids), f.gatherRows(positionEmbedding, positions)), batch, len, d));
        for (ClipEncoderLayer l : layers) x = l.forward(f, x);
        return f.then(x, in -> finalNorm.forward(f, in));
    }

    @Override public void close() { params.close(); }
}
