package dev.tav4j.model.golden;

import dev.tav4j.model.clip.ClipMetrics;
import dev.tav4j.model.clip.ClipModel;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Assertions;

import java.util.Arrays;

/**
 * The {@code clip_metrics} golden case (LOVEU-TGVE's metric definitions on a tiny transformers CLIPModel): the case's
 * prompt must tokenise to its {@code input_ids} exactly; from its preprocessed {@code pixel_values} and
 * {@code input_ids}, the image and text embeddings (before normalisation), {@code logits_per_image} and both metrics
 * must match at the forward tolerance. The metrics are also computed from the reference embeddings, which checks
 * their definitions apart from the model, at {@link #DEFINITION_TOL} (the reference's float32 rounding).
 */
final class ClipMetricsParity {
    static final double DEFINITION_TOL = 1e-6;

    private ClipMetricsParity() {}

    static void run(Ops ops, GoldenCase c, double tol) {
        try (ClipModel model = ClipModel.load(ops, c.path("model"))) {
            long[] ids = c.longs("input_ids");
            int[] want = Arrays.stream(ids).mapToInt(v -> (int) v).toArray();
            String prompt = c.json().path("prompt").asText();
            int[] got = model.tokenizer().encode(prompt);
            Assertions.assertArrayEquals(want, got, c.label("input_ids") + ": the prompt \"" + prompt + "\" tokenises differently");
            System.out.println(c.label("input_ids") + "  exact  ok");

            float[][] images;
            try (Tensor nchw = c.tensor("pixel_values"); Tensor nhwc = nhwc(nchw)) {
                images = model.imageEmbeds(nhwc);
            }
            float[] text = model.textEmbeds(new int[][]{want})[0];
            check(c, "image_embeds", flat(images), tol);
            check(c, "text_embeds", text, tol);
            ClipMetrics.Scores s = ClipMetrics.scores(images, text, model.logitScale());
            check(c, "logits_per_image", toFloats(s.logitsPerImage()), tol);
            check(c, "text_alignment", new float[]{(float) s.textAlignment()}, tol);
            check(c, "frame_consistency", new float[]{(float) s.frameConsistency()}, tol);

            // the definitions alone, on the reference's own embeddings
            try (Tensor ri = c.tensor("image_embeds"); Tensor rt = c.tensor("text_embeds")) {
                ClipMetrics.Scores r = ClipMetrics.scores(rows(ri), rt.toArray(), model.logitScale());
                String label = c.name() + "/metrics-from-reference-embeds";
                check(c, label, "logits_per_image", toFloats(r.logitsPerImage()));
                check(c, label, "text_alignment", new float[]{(float) r.textAlignment()});
                check(c, label, "frame_consistency", new float[]{(float) r.frameConsistency()});
            }
        }
    }

    private static void check(GoldenCase c, String name, float[] got, double tol) {
        try (Tensor ref = c.tensor(name); Tensor g = Tensor.of(got, ref.shape())) {
            Parity.check(c.label(name), g, ref, tol);
        }
    }

    private static void check(GoldenCase c, String label, String name, float[] got) {
        try (Tensor ref = c.tensor(name); Tensor g = Tensor.of(got, ref.shape())) {
            Parity.check(label + " " + name, g, ref, DEFINITION_TOL);
        }
    }

    /** [N, C, H, W] → a new host [N, H, W, C]. */
    static Tensor nhwc(Tensor nchw) {
        int n = nchw.dim(0), ch = nchw.dim(1), h = nchw.dim(2), w = nchw.dim(3);
        float[] src = nchw.toArray(), dst = new float[src.length];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < ch; c++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        dst[((i * h + y) * w + x) * ch + c] = src[((i * ch + c) * h + y) * w + x];
        return Tensor.of(dst, n, h, w, ch);
    }

    private static float[][] rows(Tensor t) {
        int n = t.dim(0), d = t.dim(1);
        float[] a = t.toArray();
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) out[i] = Arrays.copyOfRange(a, i * d, (i + 1) * d);
        return out;
    }

    private static float[] flat(float[][] rows) {
        return toFloats(Arrays.stream(rows).flatMapToDouble(r -> {
            double[] d = new double[r.length];
            for (int i = 0; i < r.length; i++) d[i] = r[i];
            return Arrays.stream(d);
        }).toArray());
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
