package dev.tav4j.model.world;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The world metrics: each at its known value on constructed edits. */
class WorldMetricsTest {
    private static final World W = World.defaults();

    private static Sample movingRight() {
        return W.sample(21, 0, Split.ALL, Attributes.ANY.withMotion(Motion.RIGHT).withShape(ShapeKind.SQUARE).withColour(Colour.RED)
                .withBackground(Pattern.STRIPES, Colour.BLUE));
    }

    private static Sample restyled(Sample s, ShapeKind shape, Colour colour) {
        Scene sc = s.scene();
        return W.render(0, 0, new Scene(shape, colour, sc.background(), sc.motion(), sc.size(), sc.path()));
    }

    @Test void identicalVideoScoresPerfectly() {
        Sample s = movingRight();
        WorldMetrics.Scores sc = WorldMetrics.evaluate(s.video(), s.video(), s.caption(), s.video());
        assertEquals(1.0, sc.editAccuracy());
        assertEquals(1.0, sc.motionFidelity(), 1e-3);
        assertEquals(1.0, sc.backgroundConsistency());
        assertEquals(0.0, sc.backgroundFlicker());
        assertEquals(1.0, sc.backgroundAccuracy());
        assertEquals(Double.POSITIVE_INFINITY, sc.psnr());
        assertEquals(1.0, WorldMetrics.evaluate(s, s.video().quantised(), s.caption(), null).motionFidelity(), 1e-3);
    }

    @Test void reversedVideoLosesMotionFidelity() {
        Sample s = movingRight();
        WorldMetrics.Scores sc = WorldMetrics.evaluate(s, s.video().reversed(), s.caption(), null);
        // expected from the ground truth: frame f is compared with frame 7 − f
        double[][] c = s.centroids();
        double sum = 0;
        for (int f = 0; f < 8; f++) sum += Math.hypot(c[7 - f][0] - c[f][0], c[7 - f][1] - c[f][1]) / 64;
        assertEquals(1 - sum / 8, sc.motionFidelity(), 1e-3);
        assertTrue(sc.motionFidelity() < 0.85, "reversed: " + sc.motionFidelity());
        assertEquals(1.0, sc.editAccuracy(), "the same shape and colour, just backwards");
        assertEquals(1.0, sc.backgroundConsistency());
    }

    @Test void editAccuracyFollowsThePrompt() {
        Sample src = movingRight();
        Sample edit = restyled(src, ShapeKind.STAR, Colour.YELLOW);
        String on = " is moving right on a blue striped background";
        WorldMetrics.Scores ok = WorldMetrics.evaluate(src, edit.video(), "a yellow star" + on, null);
        assertEquals(1.0, ok.editAccuracy());
        assertEquals(ShapeKind.STAR, ok.shape());
        assertEquals(Colour.YELLOW, ok.colour());
        assertEquals(1.0, ok.motionFidelity(), 0.02, "the same path");
        WorldMetrics.Scores wrongColour = WorldMetrics.evaluate(src, edit.video(), "a green star" + on, null);
        assertEquals(0.0, wrongColour.editAccuracy());
        assertEquals(1.0, wrongColour.shapeAccuracy());
        assertEquals(0.0, wrongColour.colourAccuracy());
        WorldMetrics.Scores notEdited = WorldMetrics.evaluate(src, src.video(), "a yellow star" + on, null);
        assertEquals(0.0, notEdited.editAccuracy(), "the source itself does not satisfy the edit");
        WorldMetrics.Scores shapeOnly = WorldMetrics.evaluate(src, edit.video(), "a star", null);
        assertEquals(1.0, shapeOnly.editAccuracy());
        assertTrue(Double.isNaN(shapeOnly.colourAccuracy()) && Double.isNaN(shapeOnly.backgroundAccuracy()));
        assertEquals(0.0, WorldMetrics.evaluate(src, edit.video(), "a yellow star on a green background", null).backgroundAccuracy());
    }

    @Test void noForegroundScoresZero() {
        Sample src = movingRight();
        float[] bg = new float[src.video().rgb().length];
        for (int f = 0; f < 8; f++) src.scene().background().render(64, 64, bg, f * 64 * 64 * 3);
        WorldMetrics.Scores sc = WorldMetrics.evaluate(src, new WorldVideo(8, 64, 64, bg), src.caption(), null);
        assertEquals(0.0, sc.editAccuracy());
        assertEquals(0.0, sc.motionFidelity());
        assertEquals(1.0, sc.backgroundAccuracy());
    }

    @Test void flickerIsTheMeanBackgroundChange() {
        Sample src = movingRight();
        float[] v = src.video().rgb().clone();
        int n = 64 * 64 * 3;
        for (int f = 1; f < 8; f += 2) for (int i = 0; i < n; i++) v[f * n + i] = Math.min(1, v[f * n + i] + 0.02f);
        // no channel of the stripes' shades of blue or the red square is near 1, so every value moved by 0.02
        WorldMetrics.Scores sc = WorldMetrics.evaluate(src, new WorldVideo(8, 64, 64, v), src.caption(), null);
        assertEquals(0.02, sc.backgroundFlicker(), 1e-4);
        assertEquals(0.98, sc.backgroundConsistency(), 1e-4);
    }

    @Test void psnrAtAKnownNoiseLevel() {
        Sample src = movingRight();
        for (double sigma : new double[]{0.1, 0.03}) {
            float[] v = src.video().rgb().clone();
            Rng rng = new Rng(99);
            for (int i = 0; i < v.length; i++) v[i] += (float) (sigma * rng.nextGaussian());
            double psnr = WorldMetrics.psnr(src.video(), new WorldVideo(8, 64, 64, v));
            assertEquals(-20 * Math.log10(sigma), psnr, 0.05, "sigma " + sigma); // 20 dB, 30.46 dB
        }
        float[] v = src.video().rgb().clone();
        for (int i = 0; i < v.length; i++) v[i] += i % 2 == 0 ? 0.01f : -0.01f;
        assertEquals(40, WorldMetrics.psnr(src.video(), new WorldVideo(8, 64, 64, v)), 1e-3);
        assertThrows(IllegalArgumentException.class, () -> WorldMetrics.psnr(src.video(), new WorldVideo(4, 64, 64, new float[4 * 64 * 64 * 3])));
    }

    @Test void promptParsing() {
        WorldPrompt p = WorldPrompt.parse("A Red ball is bouncing on a pink striped background.");
        assertEquals(new WorldPrompt(ShapeKind.CIRCLE, Colour.RED, Pattern.STRIPES, Colour.PINK, Motion.BOUNCING), p);
        assertEquals(new WorldPrompt(ShapeKind.CROSS, Colour.ORANGE, Pattern.PLAIN, Colour.BLACK, Motion.LEFT),
                WorldPrompt.parse("an orange cross is moving left on a black background"));
        assertEquals(new WorldPrompt(ShapeKind.STAR, null, null, null, null), WorldPrompt.parse("a star"));
        assertEquals(new WorldPrompt(null, Colour.GREEN, null, null, null), WorldPrompt.parse("something green"));
        assertEquals(new WorldPrompt(ShapeKind.TRIANGLE, Colour.WHITE, Pattern.GRADIENT, Colour.BLUE, Motion.ORBITING),
                WorldPrompt.parse("a white triangle is orbiting on a blue gradient background"));
    }
}
