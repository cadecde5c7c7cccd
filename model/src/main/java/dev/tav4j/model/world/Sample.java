package dev.tav4j.model.world;

/**
 * A rendered scene and its ground truth. {@code video}: the frames; {@code alpha}: per frame the exact coverage of
 * each pixel by the shape (row-major H×W, [0, 1]: the soft mask); {@code centroids}: per frame the coverage-weighted
 * centre (x, y) in pixels from the top-left corner (pixel i spans [i, i+1]); {@code areas}: per frame the shape's
 * area in pixels. {@code seed} and {@code index} reproduce it with {@link World#sample(long, long, Split)}.
 */
public record Sample(long seed, long index, Scene scene, Split split, WorldVideo video, float[][] alpha, double[][] centroids,
                     double[] areas) {
    public String caption() { return scene.caption(); }

    public String imageCaption() { return scene.imageCaption(); }
}
