package dev.tav4j.model.clip;

import java.awt.image.BufferedImage;
import java.util.List;

/**
 * The CLIP metrics of Tune-A-Video's Table 1 as LOVEU-TGVE's {@code scripts/run_eval.py} computes them:
 * <ul>
 *   <li>frame consistency ({@code clip_score_frame}): the cosine similarity of the image embeddings of every ordered
 *   pair of distinct frames, averaged (the similarity matrix with its diagonal zeroed, summed, over n·(n − 1));</li>
 *   <li>text alignment ({@code clip_score_text}): the mean over frames of CLIPModel's {@code logits_per_image},
 *   {@code exp(logit_scale) · cos(image, prompt)}.</li>
 * </ul>
 * Sums run in double over the float32 embeddings.
 */
public final class ClipMetrics {
    private ClipMetrics() {}

    /** The scores of one video: frame consistency (a cosine, at most 1) and text alignment (on CLIP's logit scale, ×100 for the OpenAI models). */
    public record Scores(int frames, double frameConsistency, double textAlignment, double[] logitsPerImage) {
        public Scores {
            logitsPerImage = logitsPerImage.clone();
        }

        @Override public double[] logitsPerImage() { return logitsPerImage.clone(); }
    }

    /** Both metrics of {@code frames} (at least two) against {@code prompt}. */
    public static Scores evaluate(ClipModel model, List<BufferedImage> frames, String prompt) {
        requireFrames(frames.size());
        float[][] images = model.imageEmbeds(frames);
        float[] text = model.textEmbeds(prompt);
        return scores(images, text, model.logitScale());
    }

    /** Both metrics from image embeddings [frames][dim], a text embedding [dim] (neither normalised) and logit_scale. */
    public static Scores scores(float[][] imageEmbeds, float[] textEmbed, float logitScale) {
        double[] logits = logitsPerImage(imageEmbeds, textEmbed, logitScale);
        double sum = 0;
        for (double l : logits) sum += l;
        return new Scores(imageEmbeds.length, frameConsistency(imageEmbeds), sum / logits.length, logits);
    }

    /** Mean cosine similarity over the n·(n − 1) ordered pairs of distinct frames (n ≥ 2). */
    public static double frameConsistency(float[][] imageEmbeds) {
        int n = imageEmbeds.length;
        requireFrames(n);
        double[][] unit = new double[n][];
        for (int i = 0; i < n; i++) unit[i] = unit(imageEmbeds[i]);
        double sum = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j) sum += dot(unit[i], unit[j]);
        return sum / ((double) n * (n - 1));
    }

    /** exp(logitScale) · cos(image_i, text) for each frame: CLIPModel's logits_per_image[:, 0]. */
    public static double[] logitsPerImage(float[][] imageEmbeds, float[] textEmbed, float logitScale) {
        double scale = Math.exp(logitScale);
        double[] t = unit(textEmbed);
        double[] out = new double[imageEmbeds.length];
        for (int i = 0; i < out.length; i++) {
            if (imageEmbeds[i].length != textEmbed.length)
                throw new IllegalArgumentException("image embedding of " + imageEmbeds[i].length + " values vs text embedding of " + textEmbed.length);
            out[i] = scale * dot(unit(imageEmbeds[i]), t);
        }
        return out;
    }

    private static void requireFrames(int n) {
        if (n < 2) throw new IllegalArgumentException("frame consistency needs at least 2 frames, got " + n);
    }

    /** v / ‖v‖ (a zero vector stays zero, as sklearn's normalize leaves it). */
    private static double[] unit(float[] v) {
        double ss = 0;
        for (float x : v) ss += (double) x * x;
        double inv = ss == 0 ? 0 : 1 / Math.sqrt(ss);
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i] * inv;
        return out;
    }

    private static double dot(double[] a, double[] b) {
        if (a.length != b.length) throw new IllegalArgumentException(a.length + " vs " + b.length + " values");
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }
}
