package dev.tav4j.model.world;

import dev.tav4j.runtime.Tensor;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Frames as the metrics read them: {@code rgb} is [F, H, W, 3] row-major, sRGB in [0, 1] (the layout of the engine's
 * host frame tensors: {@link dev.tav4j.model.pipeline.TuneAVideoPipeline#decode} gives [0, 1], the pipeline's input
 * pixels are the same layout in [−1, 1]).
 */
public record WorldVideo(int frames, int height, int width, float[] rgb) {
    public WorldVideo {
        if (frames < 1 || height < 1 || width < 1) throw new IllegalArgumentException("empty video " + frames + "x" + height + "x" + width);
        if (rgb.length != (long) frames * height * width * 3)
            throw new IllegalArgumentException(rgb.length + " values for " + frames + " frames of " + width + "x" + height);
    }

    /** The values (not a copy: the record is a view the metrics read). */
    @Override public float[] rgb() { return rgb; }

    /** A host tensor [F, H, W, 3] in [0, 1], e.g. what {@code TuneAVideoPipeline.decode} returns. */
    public static WorldVideo ofRgb01(Tensor t) {
        requireFrames(t);
        return new WorldVideo(t.dim(0), t.dim(1), t.dim(2), t.toArray());
    }

    /** A host tensor [F, H, W, 3] in [−1, 1], the pipeline's input pixels (x / 127.5 − 1). */
    public static WorldVideo ofPixels(Tensor t) {
        requireFrames(t);
        float[] v = t.toArray();
        for (int i = 0; i < v.length; i++) v[i] = (v[i] + 1) / 2;
        return new WorldVideo(t.dim(0), t.dim(1), t.dim(2), v);
    }

    /** RGB images of one size (e.g. a GIF read with VideoReader.readAll); 8-bit values / 255. */
    public static WorldVideo ofImages(List<BufferedImage> images) {
        if (images.isEmpty()) throw new IllegalArgumentException("no frames");
        int f = images.size(), h = images.getFirst().getHeight(), w = images.getFirst().getWidth();
        float[] v = new float[f * h * w * 3];
        int[] row = new int[w];
        for (int i = 0; i < f; i++) {
            BufferedImage im = images.get(i);
            if (im.getWidth() != w || im.getHeight() != h)
                throw new IllegalArgumentException("frame " + i + " is " + im.getWidth() + "x" + im.getHeight() + ", frame 0 is " + w + "x" + h);
            for (int y = 0; y < h; y++) {
                im.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    int o = ((i * h + y) * w + x) * 3, c = row[x];
                    v[o] = ((c >> 16) & 255) / 255f;
                    v[o + 1] = ((c >> 8) & 255) / 255f;
                    v[o + 2] = (c & 255) / 255f;
                }
            }
        }
        return new WorldVideo(f, h, w, v);
    }

    /** RGB images, each value rounded to 8 bits (clamped to [0, 1] first). */
    public List<BufferedImage> toImages() {
        List<BufferedImage> out = new ArrayList<>(frames);
        int[] row = new int[width];
        for (int i = 0; i < frames; i++) {
            BufferedImage im = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int o = ((i * height + y) * width + x) * 3;
                    row[x] = byte8(rgb[o]) << 16 | byte8(rgb[o + 1]) << 8 | byte8(rgb[o + 2]);
                }
                im.setRGB(0, y, width, 1, row, 0, width);
            }
            out.add(im);
        }
        return out;
    }

    /** The video as its 8-bit images would store it (what a GIF/PNG of it holds; a GIF is exact for ≤ 256 colours a frame). */
    public WorldVideo quantised() {
        float[] v = new float[rgb.length];
        for (int i = 0; i < v.length; i++) v[i] = byte8(rgb[i]) / 255f;
        return new WorldVideo(frames, height, width, v);
    }

    /** A new host tensor [F, H, W, 3] in [0, 1]; the caller closes it. */
    public Tensor toRgb01() {
        return Tensor.of(rgb.clone(), frames, height, width, 3);
    }

    /** A new host tensor [F, H, W, 3] in [−1, 1] (2x − 1), the pipeline's input pixels; the caller closes it. */
    public Tensor toPixels() {
        float[] v = new float[rgb.length];
        for (int i = 0; i < v.length; i++) v[i] = rgb[i] * 2 - 1;
        return Tensor.of(v, frames, height, width, 3);
    }

    /** The frames in reverse order. */
    public WorldVideo reversed() {
        int n = height * width * 3;
        float[] v = new float[rgb.length];
        for (int i = 0; i < frames; i++) System.arraycopy(rgb, i * n, v, (frames - 1 - i) * n, n);
        return new WorldVideo(frames, height, width, v);
    }

    private static void requireFrames(Tensor t) {
        if (t.rank() != 4 || t.dim(3) != 3) throw new IllegalArgumentException("expected frames [F, H, W, 3], got " + java.util.Arrays.toString(t.shape()));
    }

    private static int byte8(float v) {
        return Math.round(Math.max(0f, Math.min(1f, v)) * 255f);
    }
}
