package dev.tav4j.model.video;

import dev.tav4j.runtime.Tensor;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/** Conversions between RGB images and tensors of frames. */
public final class Frames {
    private Frames() {}

    /** [F, H, W, 3] host values in [0, 1] → images (values clamped, rounded). */
    public static List<BufferedImage> toImages(Tensor rgb01) {
        int f = rgb01.dim(0), h = rgb01.dim(1), w = rgb01.dim(2);
        rgb01.requireShape("frames", f, h, w, 3);
        float[] v = rgb01.toArray();
        List<BufferedImage> out = new ArrayList<>(f);
        for (int i = 0; i < f; i++) {
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int o = ((i * h + y) * w + x) * 3;
                    img.setRGB(x, y, (byte8(v[o]) << 16) | (byte8(v[o + 1]) << 8) | byte8(v[o + 2]));
                }
            out.add(img);
        }
        return out;
    }

    /** Images → [F, H, W, 3] host tensor of pixels mapped to [-1, 1] as the official code does (x / 127.5 − 1). */
    public static Tensor toPixels(List<BufferedImage> images) {
        int f = images.size(), h = images.get(0).getHeight(), w = images.get(0).getWidth();
        Tensor t = Tensor.host(f, h, w, 3);
        for (int i = 0; i < f; i++) {
            BufferedImage img = images.get(i);
            if (img.getWidth() != w || img.getHeight() != h) throw new IllegalArgumentException("frame " + i + " has another size");
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int rgb = img.getRGB(x, y);
                    long o = (((long) i * h + y) * w + x) * 3;
                    t.set(o, ((rgb >> 16) & 255) / 127.5f - 1f);
                    t.set(o + 1, ((rgb >> 8) & 255) / 127.5f - 1f);
                    t.set(o + 2, (rgb & 255) / 127.5f - 1f);
                }
        }
        return t;
    }

    private static int byte8(float v) {
        return Math.round(Math.max(0f, Math.min(1f, v)) * 255f);
    }
}
