package dev.tav4j.model.world;

/**
 * Analytic coverage: the exact area of each pixel square [x, x+1]×[y, y+1] that a shape covers, in [0, 1]. Polygons
 * (convex or not) are clipped to each pixel square (Sutherland–Hodgman) and measured with the shoelace formula; a
 * disc is integrated in closed form. Only IEEE basic operations and StrictMath: the same bits on every machine.
 */
final class Raster {
    private Raster() {}

    /** Adds the coverage of the polygon {x0, y0, x1, y1, …} (pixel units) into {@code alpha} (row-major w×h, clamped to 1). */
    static void polygon(double[] poly, int w, int h, float[] alpha) {
        double minX = Double.POSITIVE_INFINITY, minY = minX, maxX = Double.NEGATIVE_INFINITY, maxY = maxX;
        for (int i = 0; i < poly.length; i += 2) {
            minX = Math.min(minX, poly[i]);
            maxX = Math.max(maxX, poly[i]);
            minY = Math.min(minY, poly[i + 1]);
            maxY = Math.max(maxY, poly[i + 1]);
        }
        int x0 = Math.max(0, (int) Math.floor(minX)), x1 = Math.min(w - 1, (int) Math.floor(maxX));
        int y0 = Math.max(0, (int) Math.floor(minY)), y1 = Math.min(h - 1, (int) Math.floor(maxY));
        int cap = poly.length + 16;
        double[] a = new double[cap * 2], b = new double[cap * 2];
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++) {
                double c = clippedArea(poly, x, y, a, b);
                if (c > 0) alpha[y * w + x] = (float) Math.min(1, alpha[y * w + x] + c);
            }
    }

    /** The area of the polygon inside the square [px, px+1]×[py, py+1]. */
    static double clippedArea(double[] poly, double px, double py, double[] bufA, double[] bufB) {
        int n = poly.length / 2;
        System.arraycopy(poly, 0, bufA, 0, poly.length);
        n = clip(bufA, n, bufB, 0, px, +1);      // x >= px
        n = clip(bufB, n, bufA, 0, px + 1, -1);  // x <= px+1
        n = clip(bufA, n, bufB, 1, py, +1);      // y >= py
        n = clip(bufB, n, bufA, 1, py + 1, -1);  // y <= py+1
        if (n < 3) return 0;
        double s = 0;
        for (int i = 0, j = n - 1; i < n; j = i++)
            s += bufA[2 * j] * bufA[2 * i + 1] - bufA[2 * i] * bufA[2 * j + 1];
        return Math.abs(s) / 2;
    }

    /** Keeps the part of polygon {@code in} (n vertices) where sign·(coord[axis] − bound) ≥ 0; returns the vertex count of {@code out}. */
    private static int clip(double[] in, int n, double[] out, int axis, double bound, int sign) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            int j = (i + n - 1) % n;
            double ci = sign * (in[2 * i + axis] - bound), cj = sign * (in[2 * j + axis] - bound);
            boolean inI = ci >= 0, inJ = cj >= 0;
            if (inI != inJ) {
                double t = cj / (cj - ci);
                out[2 * m] = in[2 * j] + t * (in[2 * i] - in[2 * j]);
                out[2 * m + 1] = in[2 * j + 1] + t * (in[2 * i + 1] - in[2 * j + 1]);
                out[2 * m + axis] = bound; // exactly on the edge
                m++;
            }
            if (inI) {
                out[2 * m] = in[2 * i];
                out[2 * m + 1] = in[2 * i + 1];
                m++;
            }
        }
        return m;
    }

    /** Adds the coverage of the disc of centre (cx, cy) and radius r (pixel units) into {@code alpha}. */
    static void disc(double cx, double cy, double r, int w, int h, float[] alpha) {
        int x0 = Math.max(0, (int) Math.floor(cx - r)), x1 = Math.min(w - 1, (int) Math.floor(cx + r));
        int y0 = Math.max(0, (int) Math.floor(cy - r)), y1 = Math.min(h - 1, (int) Math.floor(cy + r));
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++) {
                double c = discArea(x - cx, x + 1 - cx, y - cy, y + 1 - cy, r);
                if (c > 0) alpha[y * w + x] = (float) Math.min(1, alpha[y * w + x] + c);
            }
    }

    /**
     * The area of the disc of radius r about the origin inside [xa, xb]×[ya, yb]: the integral over x of the length
     * of [ya, yb] ∩ [−h(x), h(x)], h = √(r² − x²), split where h crosses |ya| or |yb| so that each piece is one of
     * (yb − ya), (h − ya), (yb + h), 2h or 0, each integrated exactly with G(x) = ½(x·h(x) + r²·asin(x / r)).
     */
    static double discArea(double xa, double xb, double ya, double yb, double r) {
        double lo = Math.max(xa, -r), hi = Math.min(xb, r);
        if (lo >= hi) return 0;
        double[] cuts = new double[6];
        int n = 0;
        cuts[n++] = lo;
        for (double y : new double[]{ya, yb})
            if (Math.abs(y) < r) {
                double x = Math.sqrt(r * r - y * y);
                if (x > lo && x < hi) cuts[n++] = x;
                if (-x > lo && -x < hi) cuts[n++] = -x;
            }
        cuts[n++] = hi;
        java.util.Arrays.sort(cuts, 0, n);
        double area = 0;
        for (int i = 0; i + 1 < n; i++) {
            double a = cuts[i], b = cuts[i + 1];
            if (b <= a) continue;
            double m = (a + b) / 2, hm = Math.sqrt(Math.max(0, r * r - m * m));
            boolean upperIsH = hm < yb, lowerIsH = -hm > ya;
            double upper = upperIsH ? hm : yb, lower = lowerIsH ? -hm : ya;
            if (upper <= lower) continue;
            double gh = g(b, r) - g(a, r); // ∫ h
            area += (upperIsH ? gh : yb * (b - a)) - (lowerIsH ? -gh : ya * (b - a));
        }
        return Math.max(0, area);
    }

    private static double g(double x, double r) {
        double t = Math.max(-1, Math.min(1, x / r));
        return 0.5 * (x * Math.sqrt(Math.max(0, r * r - x * x)) + r * r * StrictMath.asin(t));
    }
}
