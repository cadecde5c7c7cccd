package dev.tav4j.model.world;

import java.util.Locale;

/**
 * The recognisers measured on the world's own ground truth: {@code count} samples of a world, each optionally
 * degraded (Gaussian noise of standard deviation {@code noise} on every value, then rounded to 8 bits as a GIF
 * stores it), segmented and recognised, and compared with what the sample was rendered from.
 */
public final class RecogniserCheck {
    private RecogniserCheck() {}

    /**
     * Accuracies in [0, 1]: {@code shapeFrames}/{@code colourFrames} per frame; {@code shapeVideos}/{@code colourVideos}
     * the majority over a video's frames; {@code pattern}/{@code backgroundColour} per video; centroid error in pixels
     * against the ground truth (mean and max over frames); {@code missed}: frames without foreground.
     */
    public record Report(int samples, int frames, double shapeFrames, double colourFrames, double shapeVideos, double colourVideos,
                         double pattern, double backgroundColour, double centroidErrorMean, double centroidErrorMax, int missed) {
        @Override public String toString() {
            return String.format(Locale.ROOT, "%d samples (%d frames): shape %.2f%% of frames (%.2f%% of videos), colour %.2f%% (%.2f%%), "
                            + "background pattern %.2f%%, background colour %.2f%%, centroid error mean %.3f px max %.3f px, %d frames without foreground",
                    samples, frames, 100 * shapeFrames, 100 * shapeVideos, 100 * colourFrames, 100 * colourVideos, 100 * pattern,
                    100 * backgroundColour, centroidErrorMean, centroidErrorMax, missed);
        }
    }

    public static Report run(World world, long seed, int count, double noise) {
        return run(world, seed, count, Split.ALL, noise, false);
    }

    /**
     * As {@link #run(World, long, int, double)}, the samples of one split, each frame first blurred by a 3×3 box when
     * {@code blur} (a soft, VAE-like loss of detail). The same samples as {@code tav world} writes with that seed and split.
     */
    public static Report run(World world, long seed, int count, Split split, double noise, boolean blur) {
        int frames = 0, shapeF = 0, colourF = 0, shapeV = 0, colourV = 0, pattern = 0, bg = 0, missed = 0;
        double errSum = 0, errMax = 0;
        for (int i = 0; i < count; i++) {
            Sample s = world.sample(seed, i, split);
            WorldVideo v = degrade(blur ? blurred(s.video()) : s.video(), noise, Rng.of(~seed, i));
            Recogniser.Description d = Recogniser.describe(v);
            Scene sc = s.scene();
            for (int f = 0; f < d.frames().length; f++) {
                Recogniser.Frame r = d.frames()[f];
                frames++;
                if (!r.found()) {
                    missed++;
                    continue;
                }
                if (r.shape() == sc.shape()) shapeF++;
                if (r.colour() == sc.colour()) colourF++;
                double e = Math.hypot(r.cx() - s.centroids()[f][0], r.cy() - s.centroids()[f][1]);
                errSum += e;
                errMax = Math.max(errMax, e);
            }
            if (d.shape() == sc.shape()) shapeV++;
            if (d.colour() == sc.colour()) colourV++;
            if (d.pattern() == sc.background().pattern()) pattern++;
            if (d.backgroundColour() == sc.background().colour()) bg++;
        }
        return new Report(count, frames, (double) shapeF / frames, (double) colourF / frames, (double) shapeV / count,
                (double) colourV / count, (double) pattern / count, (double) bg / count, errSum / Math.max(1, frames - missed), errMax, missed);
    }

    static WorldVideo blurred(WorldVideo v) {
        int n = v.height() * v.width() * 3;
        float[] x = new float[v.rgb().length];
        for (int f = 0; f < v.frames(); f++) System.arraycopy(Segmenter.boxBlur(v.rgb(), f * n, v.width(), v.height()), 0, x, f * n, n);
        return new WorldVideo(v.frames(), v.height(), v.width(), x);
    }

    /** The video plus N(0, sigma²) noise on every value, clamped and rounded to 8 bits. */
    static WorldVideo degrade(WorldVideo v, double sigma, Rng rng) {
        float[] x = v.rgb().clone();
        if (sigma > 0) for (int i = 0; i < x.length; i++) x[i] = (float) (x[i] + sigma * rng.nextGaussian());
        return new WorldVideo(v.frames(), v.height(), v.width(), x).quantised();
    }
}
