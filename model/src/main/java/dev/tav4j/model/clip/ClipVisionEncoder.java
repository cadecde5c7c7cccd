package dev.tav4j.model.clip;

import dev.tav4j.model.config.ClipVisionConfig;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.nn.LayerNorm;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

import java.util.ArrayList;
import java.util.List;

/**
 * transformers' CLIPVisionModel and CLIPModel's {@code visual_projection}: patches embedded by a convolution without
 * bias (stride = patch size), the class embedding put in front, position embeddings added, {@code pre_layrnorm},
 * the pre-LN encoder layers (full self-attention), {@code post_layernorm} of the class token, then the projection:
 * the image embeddings of {@code get_image_features} (not normalised).
 */
public final class ClipVisionEncoder implements AutoCloseable {
    private final Ops ops;
    private final ClipVisionConfig cfg;
    private final ParamStore params;
    private final Tensor patchEmbedding;
    private final Tensor classTable;
    private final Tensor positionEmbedding;
    private final LayerNorm preNorm, postNorm;
    private final List<ClipEncoderLayer> layers = new ArrayList<>();
    private final Linear projection;

    /** The vision tower and visual_projection of a CLIPModel's weights (names {@code vision_model.…}, {@code visual_projection.weight}). */
    public ClipVisionEncoder(Ops ops, ClipVisionConfig cfg, int projectionDim, Weights weights) {
        this.ops = ops;
        this.cfg = cfg;
        this.params = new ParamStore(ops, weights);
        int d = cfg.hiddenSize();
        String pre = "vision_model.";
        try {
            patchEmbedding = params.conv(pre + "embeddings.patch_embedding.weight", d, cfg.channels(), cfg.patchSize());
            classTable = params.vector(pre + "embeddings.class_embedding", d).reshape(1, d);
            positionEmbedding = params.table(pre + "embeddings.position_embedding.weight", cfg.tokens(), d);
            preNorm = LayerNorm.load(params, pre + "pre_layrnorm", d, cfg.layerNormEps());
            Activation act = ClipEncoderLayer.activation(cfg.hiddenAct());
            for (int i = 0; i < cfg.layers(); i++)
                layers.add(ClipEncoderLayer.load(params, pre + "encoder.layers." + i + ".", d, cfg.intermediateSize(), cfg.heads(),
                        cfg.layerNormEps(), AttentionKind.SELF, act));
            postNorm = LayerNorm.load(params, pre + "post_layernorm", d, cfg.layerNormEps());
            projection = Linear.load(params, "visual_projection", d, projectionDim, false);
        } catch (RuntimeException e) {
            params.close();
            throw e;
        }
    }

    public ClipVisionConfig config() { return cfg; }

    /** The dimension of the image embeddings. */
    public int projectionDim() { return projection.out(); }

    /**
     * pixel_values as channels-last host images [N, S, S, 3] (S = the config's image_size) → image embeddings
     * [N, projection_dim], a new tensor on the backend.
     */
    public Tensor embed(Tensor pixels) {
        int s = cfg.imageSize();
        if (pixels.rank() != 4 || pixels.dim(1) != s || pixels.dim(2) != s || pixels.dim(3) != cfg.channels())
            throw new IllegalArgumentException("pixel_values " + java.util.Arrays.toString(pixels.shape()) + ": the vision tower takes [N, "
                    + s + ", " + s + ", " + cfg.channels() + "] (channels last)");
        try (Tensor x = ops.upload(pixels); Fn f = Fn.inference(ops)) {
            return f.detach(embed(f, x));
        }
    }

    /** The forward on {@code f}: x [N, S, S, 3] → [N, projection_dim]. */
    private Tensor embed(Fn f, Tensor px) {
        int n = px.dim(0), g = cfg.gridSize(), t = cfg.tokens(), d = cfg.hiddenSize();
        int[] classIds = new int[n], positions = new int[n * t], classRows = new int[n];
        for (int i = 0; i < n; i++) {
            classRows[i] = i * t;
            for (int j = 0; j < t; j++) positions[i * t + j] = j;
        }
        // [class, patch 0, patch 1, …] per image: the class row and the image's g·g·d patch values side by side
        Tensor x = f.scoped(() -> {
            Tensor patches = f.reshape(f.conv2d(px, patchEmbedding, null, cfg.patchSize(), 0, false, null), n, g * g * d);
            Tensor tokens = f.reshape(f.concatChannels(f.gatherRows(classTable, classIds), patches), n * t, d);
            return f.reshape(f.add(tokens, f.gatherRows(positionEmbedding, positions)), n, t, d);
        });
        x = f.then(x, in -> preNorm.forward(f, in));
        for (ClipEncoderLayer l : layers) x = l.forward(f, x);
        return f.then(x, in -> projection.forward(f, postNorm.forward(f, f.gatherRows(f.reshape(in, n * t, d), classRows))));
    }

    @Override public void close() { params.close(); }
}
