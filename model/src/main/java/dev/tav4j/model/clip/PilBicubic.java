package dev.tav4j.model.clip;

/**
 * Pillow's {@code Image.resize(size, Image.BICUBIC)} of an 8-bit RGB image, bit for bit (Pillow's
 * {@code libImaging/Resample.c}): the cubic convolution kernel with a = −0.5, its support widened by the scale when
 * shrinking (antialiasing), coefficients normalised per output pixel and rounded to 22-bit fixed point, a horizontal
 * pass then a vertical pass, each rounded and clipped to 8 bits. This is what transformers' CLIPImageProcessor does
 * to a uint8 image (it resizes through PIL).
 */
public final class PilBicubic {
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 2.0;

    private PilBicubic() {}

    /** rgb: height × width × 3 bytes, row-major → newHeight × newWidth × 3 bytes. */
    public static byte[] resize(byte[] rgb, int width, int height, int newWidth, int newHeight) {
        if (width < 1 || height < 1 || newWidth < 1 || newHeight < 1)
            throw new IllegalArgumentException("resize " + width + "x" + height + " to " + newWidth + "x" + newHeight + ": sizes must be positive");
        if ((long) width * height * 3 != rgb.length)
            throw new IllegalArgumentException(rgb.length + " bytes for a " + width + "x" + height + " RGB image");
        byte[] img = rgb;
        int w = width;
        if (newWidth != width) {  // horizontal pass
            Coeffs c = coeffs(width, newWidth);
            byte[] out = new byte[height * newWidth * 3];
            for (int y = 0; y < height; y++)
                for (int xx = 0; xx < newWidth; xx++) {
                    int min = c.bounds[2 * xx], n = c.bounds[2 * xx + 1], k0 = xx * c.ksize;
                    for (int ch = 0; ch < 3; ch++) {
                        int ss = 1 << (PRECISION_BITS - 1);
                        for (int x = 0; x < n; x++) ss += (img[(y * w + min + x) * 3 + ch] & 255) * c.k[k0 + x];
                        out[(y * newWidth + xx) * 3 + ch] = clip8(ss);
                    }
                }
            img = out;
            w = newWidth;
        }
        if (newHeight != height) {  // vertical pass
            Coeffs c = coeffs(height, newHeight);
            byte[] out = new byte[newHeight * w * 3];
            for (int yy = 0; yy < newHeight; yy++) {
                int min = c.bounds[2 * yy], n = c.bounds[2 * yy + 1], k0 = yy * c.ksize;
                for (int x = 0; x < w; x++)
                    for (int ch = 0; ch < 3; ch++) {
                        int ss = 1 << (PRECISION_BITS - 1);
                        for (int y = 0; y < n; y++) ss += (img[((min + y) * w + x) * 3 + ch] & 255) * c.k[k0 + y];
                        out[(yy * w + x) * 3 + ch] = clip8(ss);
                    }
            }
            img = out;
        }
        return img == rgb ? rgb.clone() : img;
    }

    /** Pillow's bicubic kernel, a = −0.5. */
    static double filter(double x) {
        final double a = -0.5;
        if (x < 0) x = -x;
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    private record Coeffs(int ksize, int[] bounds, int[] k) {}

    /** Pillow's precompute_coeffs and normalize_coeffs_8bpc for the box (0, inSize). */
    private static Coeffs coeffs(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterscale = Math.max(scale, 1.0);
        double support = SUPPORT * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] bounds = new int[outSize * 2];
        int[] kk = new int[outSize * ksize];
        double[] k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ww = 0, ss = 1.0 / filterscale;
            int xmin = Math.max(0, (int) (center - support + 0.5));
            int xmax = Math.min(inSize, (int) (center + support + 0.5)) - xmin;
            for (int x = 0; x < xmax; x++) {
                k[x] = filter((x + xmin - center + 0.5) * ss);
                ww += k[x];
            }
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0 ? k[x] / ww : k[x];
                kk[xx * ksize + x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            bounds[2 * xx] = xmin;
            bounds[2 * xx + 1] = xmax;
        }
        return new Coeffs(ksize, bounds, kk);
    }

    private static byte clip8(int ss) {
        int v = ss >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }
}
