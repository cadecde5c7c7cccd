package dev.tav4j.model.clip;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The LOVEU-TGVE definitions on embeddings whose cosines are known by hand. */
class ClipMetricsTest {
    @Test void frameConsistencyAveragesOrderedPairsOfDistinctFrames() {
        // unit directions at 0°, 90° and 0° (scaled: normalisation must not matter): cosines 0, 1, 0 for the 3 unordered pairs
        float[][] e = {{2, 0}, {0, 5}, {0.5f, 0}};
        assertEquals((0 + 1 + 0) * 2 / 6.0, ClipMetrics.frameConsistency(e), 1e-12);
        // two frames at 60°: cos = 0.5 (the diagonal's 1s never count)
        assertEquals(0.5, ClipMetrics.frameConsistency(new float[][]{{1, 0}, {0.5f, (float) Math.sqrt(0.75)}}), 1e-7);
        assertThrows(IllegalArgumentException.class, () -> ClipMetrics.frameConsistency(new float[][]{{1, 0}}));
    }

    @Test void textAlignmentIsTheMeanOfScaledCosines() {
        float logitScale = (float) Math.log(100);  // OpenAI CLIP's trained temperature: exp = 100
        float[][] images = {{3, 0}, {1, 1}, {0, -2}};
        float[] text = {4, 0};
        double[] logits = ClipMetrics.logitsPerImage(images, text, logitScale);
        double s = Math.exp(logitScale);
        assertEquals(s, logits[0], 1e-9);
        assertEquals(s * Math.sqrt(0.5), logits[1], 1e-9);
        assertEquals(0, logits[2], 1e-9);
        ClipMetrics.Scores r = ClipMetrics.scores(images, text, logitScale);
        assertEquals(s * (1 + Math.sqrt(0.5)) / 3, r.textAlignment(), 1e-9);
        assertEquals(3, r.frames());
        // cos(a, b) = √½, cos(a, c) = 0, cos(b, c) = −√½: negative cosines count as they are
        assertEquals(0, r.frameConsistency(), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> ClipMetrics.logitsPerImage(images, new float[]{1, 2, 3}, 0));
    }
}
