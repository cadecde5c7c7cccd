package dev.tav4j.model.video;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;

/** Quantises an RGB frame to a 256-colour palette (6×7×6 colour cube, ordered dithering) for GIF. */
final class Palette {
    private static final int R = 6, G = 7, B = 6;
    private static final IndexColorModel MODEL;
    private static final int[][] BAYER = {{0, 8, 2, 10}, {12, 4, 14, 6}, {3, 11, 1, 9}, {15, 7, 13, 5}};

    static {
        byte[] r = new byte[256], g = new byte[256], b = new byte[256];
        int i = 0;
        for (int x = 0; x < R; x++)
            for (int y = 0; y < G; y++)
                for (int z = 0; z < B; z++, i++) {
                    r[i] = (byte) (x * 255 / (R - 1));
                    g[i] = (byte) (y * 255 / (G - 1));
                    b[i] = (byte) (z * 255 / (B - 1));
                }
        MODEL = new IndexColorModel(8, 256, r, g, b);
    }

    private Palette() {}

    static BufferedImage toIndexed(BufferedImage src) {
        int w = src.getWidth(), h = src.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, MODEL);
        WritableRaster raster = out.getRaster();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = src.getRGB(x, y);
                double d = (BAYER[y & 3][x & 3] + 0.5) / 16.0 - 0.5;
                int ri = level((rgb >> 16) & 255, R, d), gi = level((rgb >> 8) & 255, G, d), bi = level(rgb & 255, B, d);
                raster.setSample(x, y, 0, (ri * G + gi) * B + bi);
            }
        }
        return out;
    }

    private static int level(int v, int levels, double dither) {
        int l = (int) Math.floor(v * (levels - 1) / 255.0 + 0.5 + dither);
        return Math.max(0, Math.min(levels - 1, l));
    }
}
