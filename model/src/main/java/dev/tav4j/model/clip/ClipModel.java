package dev.tav4j.model.clip;

import dev.tav4j.model.config.ClipModelConfig;
import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.model.text.ClipTokenizer;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.autograd.Fn;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A transformers {@code CLIPModel} folder ({@code config.json}, {@code model.safetensors}, the tokenizer's
 * {@code vocab.json}/{@code merges.txt} beside them or under {@code tokenizer/}, optionally
 * {@code preprocessor_config.json}) loaded for scoring: {@code get_image_features}, {@code get_text_features} and
 * {@code logit_scale}.
 */
public final class ClipModel implements AutoCloseable {
    /** Images embedded per forward (bounds the activations of a long video). */
    static final int IMAGE_BATCH = 16;

    private final Ops ops;
    private final Path dir;
    private final ClipModelConfig config;
    private final ClipTokenizer tokenizer;
    private final ClipImageProcessor processor;
    private final ClipTextEncoder text;
    private final ClipVisionEncoder vision;
    private final ParamStore projectionParams;
    private final Linear textProjection;
    private final float logitScale;

    private ClipModel(Ops ops, Path dir, ClipModelConfig config, ClipTokenizer tokenizer, ClipImageProcessor processor,
                      ClipTextEncoder text, ClipVisionEncoder vision, ParamStore projectionParams, Linear textProjection, float logitScale) {
        this.ops = ops;
        this.dir = dir;
        this.config = config;
        this.tokenizer = tokenizer;
        this.processor = processor;
        this.text = text;
        this.vision = vision;
        this.projectionParams = projectionParams;
        this.textProjection = textProjection;
        this.logitScale = logitScale;
    }

    /** The folder's config, tokenizer and preprocessor (cheap: no weight is read); a ConfigException naming what is wrong. */
    public static ClipModelConfig check(Path dir) {
        requireFolder(dir);
        ClipModelConfig cfg = ClipModelConfig.read(dir.resolve("config.json"));
        ClipTokenizer.load(tokenizerDir(dir));
        ClipImageProcessor.load(dir, cfg.vision().imageSize());
        return cfg;
    }

    /** Loads every part of the model in {@code dir} onto {@code ops}. */
    public static ClipModel load(Ops ops, Path dir) {
        requireFolder(dir);
        ClipModelConfig cfg = ClipModelConfig.read(dir.resolve("config.json"));
        ClipTokenizer tok = ClipTokenizer.load(tokenizerDir(dir));
        ClipImageProcessor proc = ClipImageProcessor.load(dir, cfg.vision().imageSize());
        ClipTextEncoder text = null;
        ClipVisionEncoder vision = null;
        ParamStore proj = null;
        try (Weights w = Weights.openFolder("clip", dir)) {
            float scale;
            try (Tensor s = w.load("logit_scale")) {
                if (s.size() != 1) throw new ConfigException(w.describe() + ": logit_scale has " + s.size() + " values, expected one");
                scale = s.get(0);
            }
            text = new ClipTextEncoder(ops, cfg.text(), w);
            vision = new ClipVisionEncoder(ops, cfg.vision(), cfg.projectionDim(), w);
            proj = new ParamStore(ops, w);
            Linear tp = Linear.load(proj, "text_projection", cfg.text().hiddenSize(), cfg.projectionDim(), false);
            return new ClipModel(ops, dir, cfg, tok, proc, text, vision, proj, tp, scale);
        } catch (RuntimeException e) {
            if (text != null) text.close();
            if (vision != null) vision.close();
            if (proj != null) proj.close();
            throw e;
        }
    }

    private static void requireFolder(Path dir) {
        if (!Files.isDirectory(dir)) throw new ConfigException(dir + ": CLIP folder not found");
        if (!Files.isRegularFile(dir.resolve("config.json")) && Files.isRegularFile(dir.resolve("model_index.json")))
            throw new ConfigException(dir + ": a diffusers pipeline folder (model_index.json), not a CLIP model; expected a transformers "
                    + "CLIPModel folder (config.json, model.safetensors, vocab.json and merges.txt), e.g. openai/clip-vit-large-patch14");
        if (!Files.isRegularFile(dir.resolve("config.json")))
            throw new ConfigException(dir + ": not a CLIP model folder (no config.json); expected a transformers CLIPModel folder "
                    + "(config.json, model.safetensors, vocab.json and merges.txt), e.g. openai/clip-vit-large-patch14");
    }

    /** {@code dir/tokenizer} where it holds vocab.json, else {@code dir} itself (transformers keeps them side by side). */
    static Path tokenizerDir(Path dir) {
        Path sub = dir.resolve("tokenizer");
        if (Files.isRegularFile(sub.resolve("vocab.json"))) return sub;
        if (Files.isRegularFile(dir.resolve("vocab.json"))) return dir;
        throw new ConfigException(dir + ": no CLIP tokenizer: expected vocab.json and merges.txt in it or in its tokenizer/ folder");
    }

    public Path dir() { return dir; }

    public ClipModelConfig config() { return config; }

    public ClipTokenizer tokenizer() { return tokenizer; }

    public ClipImageProcessor processor() { return processor; }

    /** The learned temperature's logarithm; logits are {@code exp(logitScale) · cos}. */
    public float logitScale() { return logitScale; }

    /** get_image_features of frames, preprocessed by this model's image processor: [frames][projection_dim]. */
    public float[][] imageEmbeds(List<BufferedImage> frames) {
        float[][] out = new float[frames.size()][];
        for (int from = 0; from < frames.size(); from += IMAGE_BATCH) {
            List<BufferedImage> part = frames.subList(from, Math.min(frames.size(), from + IMAGE_BATCH));
            try (Tensor px = processor.pixelValues(part)) {
                float[][] e = imageEmbeds(px);
                System.arraycopy(e, 0, out, from, e.length);
            }
        }
        return out;
    }

    /** get_image_features of pixel_values [N, S, S, 3] (host, channels last): [N][projection_dim]. */
    public float[][] imageEmbeds(Tensor pixelValues) {
        try (Tensor e = vision.embed(pixelValues); Tensor h = ops.download(e)) {
            return rows(h);
        }
    }

    /** get_text_features of a prompt (tokenised to 77 ids, padded as the tokenizer pads). */
    public float[] textEmbeds(String prompt) {
        return textEmbeds(new int[][]{tokenizer.encode(prompt)})[0];
    }

    /**
     * get_text_features of token ids [B][L]: text_projection of the final-normed hidden state at each row's EOS, the
     * position of its largest id (argmax, as transformers' CLIP finds the EOS token) → [B][projection_dim].
     */
    public float[][] textEmbeds(int[][] ids) {
        int b = ids.length, len = ids[0].length, d = config.text().hiddenSize();
        int[] eos = new int[b];
        for (int i = 0; i < b; i++) {
            int at = 0;
            for (int j = 1; j < ids[i].length; j++) if (ids[i][j] > ids[i][at]) at = j;
            eos[i] = i * len + at;
        }
        try (Tensor hidden = text.encode(ids); Fn f = Fn.inference(ops)) {
            Tensor e = textProjection.forward(f, f.gatherRows(f.reshape(hidden, b * len, d), eos));
            try (Tensor h = ops.download(e)) {
                return rows(h);
            }
        }
    }

    private static float[][] rows(Tensor host) {
        int n = host.dim(0), d = host.dim(1);
        float[] all = host.toArray();
        float[][] out = new float[n][d];
        for (int i = 0; i < n; i++) System.arraycopy(all, i * d, out[i], 0, d);
        return out;
    }

    @Override public void close() {
        text.close();
        vision.close();
        projectionParams.close();
    }
}
