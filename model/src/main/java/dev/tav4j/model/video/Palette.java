package dev.tav4j.model.video;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.util.Arrays;

/**
 * Quantises RGB frames to an adaptive palette of at most 256 colours, one per frame, for GIF. A frame with at most
 * 256 distinct colours keeps exactly those (lossless); otherwise Wu's variance-minimising quantiser (X. Wu, Graphics
 * Gems II, 1991) cuts a 32×32×32 histogram into 256 boxes whose exact pixel means are the palette. Pixels map to
 * their nearest palette colour (exact search over a per-cell candidate list), optionally with Floyd–Steinberg error
 * diffusion. One instance per GIF: its buffers are reused from frame to frame; not thread-safe.
 */
final class Palette {
    private static final int MAX_COLOURS = 256;
    // Wu's moment tables: 5 bits per channel plus a zero border at index 0, so box sums are 8 corner lookups
    private static final int SIDE = 33, PLANE = SIDE * SIDE, TABLE = SIDE * PLANE;
    private static final int RED = 0, GREEN = 1, BLUE = 2;
    // nearest-colour cells: the same 5-bit grid, each holding the palette entries that can be nearest inside it
    private static final int CELLS = 32 * 32 * 32;

    private final GifWriter.Dither dither;
    private final long[] wt = new long[TABLE], mr = new long[TABLE], mg = new long[TABLE], mb = new long[TABLE], m2 = new long[TABLE];
    private final long[][] area = new long[5][SIDE];
    private final Box[] boxes = new Box[MAX_COLOURS];
    private final double[] boxVariance = new double[MAX_COLOURS];
    private final int[] red = new int[MAX_COLOURS], green = new int[MAX_COLOURS], blue = new int[MAX_COLOURS];
    private final int[] seen = new int[4 * MAX_COLOURS];
    private final int[] cellStart = new int[CELLS], cellCount = new int[CELLS];
    private int[] candidates = new int[4096];
    private int candidateEnd;
    private int size;
    private int[] pixels = new int[0];
    private int cut;

    Palette(GifWriter.Dither dither) {
        this.dither = dither;
        for (int i = 0; i < MAX_COLOURS; i++) boxes[i] = new Box();
    }

    /** The frame as an 8-bit indexed image over its own palette. */
    BufferedImage toIndexed(BufferedImage src) {
        int w = src.getWidth(), h = src.getHeight(), n = w * h;
        if (pixels.length < n) pixels = new int[n];
        src.getRGB(0, 0, w, h, pixels, 0, w);
        if (!exactColours(n)) wu(n);
        byte[] r = new byte[size], g = new byte[size], b = new byte[size];
        for (int i = 0; i < size; i++) {
            r[i] = (byte) red[i];
            g[i] = (byte) green[i];
            b[i] = (byte) blue[i];
        }
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, size, r, g, b));
        byte[] index = ((DataBufferByte) out.getRaster().getDataBuffer()).getData();
        Arrays.fill(cellStart, -1);
        candidateEnd = 0;
        if (dither == GifWriter.Dither.FLOYD_STEINBERG) diffuse(w, h, index);
        else for (int i = 0; i < n; i++) index[i] = (byte) nearest((pixels[i] >> 16) & 255, (pixels[i] >> 8) & 255, pixels[i] & 255);
        return out;
    }

    /** True, with the palette set to them (sorted), when the frame has at most 256 distinct colours. */
    private boolean exactColours(int n) {
        Arrays.fill(seen, -1);
        int mask = seen.length - 1, count = 0;
        for (int i = 0; i < n; i++) {
            int c = pixels[i] & 0xFFFFFF, slot = (c * 0x9E3779B1) >>> 22 & mask;
            while (seen[slot] != -1 && seen[slot] != c) slot = (slot + 1) & mask;
            if (seen[slot] == c) continue;
            if (count == MAX_COLOURS) return false;
            seen[slot] = c;
            count++;
        }
        int[] colours = Arrays.stream(seen).filter(c -> c != -1).sorted().toArray();
        for (int i = 0; i < count; i++) setColour(i, colours[i] >> 16, (colours[i] >> 8) & 255, colours[i] & 255);
        size = count;
        return true;
    }

    private void setColour(int i, int r, int g, int b) {
        red[i] = r;
        green[i] = g;
        blue[i] = b;
    }

    // ---- Wu's quantiser

    private void wu(int n) {
        for (long[] m : new long[][]{wt, mr, mg, mb, m2}) Arrays.fill(m, 0);
        for (int i = 0; i < n; i++) {
            int r = (pixels[i] >> 16) & 255, g = (pixels[i] >> 8) & 255, b = pixels[i] & 255;
            int k = ((r >> 3) + 1) * PLANE + ((g >> 3) + 1) * SIDE + (b >> 3) + 1;
            wt[k]++;
            mr[k] += r;
            mg[k] += g;
            mb[k] += b;
            m2[k] += r * r + g * g + b * b;
        }
        cumulate();
        boxes[0].set(0, 32, 0, 32, 0, 32);
        int count = 1, next = 0;
        while (count < MAX_COLOURS) {
            if (split(boxes[next], boxes[count])) {
                boxVariance[next] = boxes[next].volume() > 1 ? variance(boxes[next]) : 0;
                boxVariance[count] = boxes[count].volume() > 1 ? variance(boxes[count]) : 0;
                count++;
            } else {
                boxVariance[next] = 0;
            }
            next = 0;
            for (int k = 1; k < count; k++) if (boxVariance[k] > boxVariance[next]) next = k;
            if (boxVariance[next] <= 0) break;
        }
        for (int k = 0; k < count; k++) {
            Box x = boxes[k];
            long weight = vol(x, wt);
            setColour(k, (int) ((vol(x, mr) + weight / 2) / weight), (int) ((vol(x, mg) + weight / 2) / weight), (int) ((vol(x, mb) + weight / 2) / weight));
        }
        size = count;
    }

    /** Turns the histogram into cumulative moments: entry (r, g, b) sums all cells at or below it. */
    private void cumulate() {
        long[][] m = {wt, mr, mg, mb, m2};
        long[] line = new long[5];
        for (int r = 1; r < SIDE; r++) {
            for (long[] a : area) Arrays.fill(a, 0);
            for (int g = 1; g < SIDE; g++) {
                Arrays.fill(line, 0);
                for (int b = 1; b < SIDE; b++) {
                    int i = r * PLANE + g * SIDE + b;
                    for (int t = 0; t < 5; t++) {
                        line[t] += m[t][i];
                        area[t][b] += line[t];
                        m[t][i] = m[t][i - PLANE] + area[t][b];
                    }
                }
            }
        }
    }

    private static long vol(Box x, long[] m) {
        return m[x.r1 * PLANE + x.g1 * SIDE + x.b1] - m[x.r1 * PLANE + x.g1 * SIDE + x.b0]
                - m[x.r1 * PLANE + x.g0 * SIDE + x.b1] + m[x.r1 * PLANE + x.g0 * SIDE + x.b0]
                - m[x.r0 * PLANE + x.g1 * SIDE + x.b1] + m[x.r0 * PLANE + x.g1 * SIDE + x.b0]
                + m[x.r0 * PLANE + x.g0 * SIDE + x.b1] - m[x.r0 * PLANE + x.g0 * SIDE + x.b0];
    }

    /** The part of vol(x, m) that does not move when the box's upper bound along dir does. */
    private static long bottom(Box x, int dir, long[] m) {
        return switch (dir) {
            case RED -> -m[x.r0 * PLANE + x.g1 * SIDE + x.b1] + m[x.r0 * PLANE + x.g1 * SIDE + x.b0]
                    + m[x.r0 * PLANE + x.g0 * SIDE + x.b1] - m[x.r0 * PLANE + x.g0 * SIDE + x.b0];
            case GREEN -> -m[x.r1 * PLANE + x.g0 * SIDE + x.b1] + m[x.r1 * PLANE + x.g0 * SIDE + x.b0]
                    + m[x.r0 * PLANE + x.g0 * SIDE + x.b1] - m[x.r0 * PLANE + x.g0 * SIDE + x.b0];
            default -> -m[x.r1 * PLANE + x.g1 * SIDE + x.b0] + m[x.r1 * PLANE + x.g0 * SIDE + x.b0]
                    + m[x.r0 * PLANE + x.g1 * SIDE + x.b0] - m[x.r0 * PLANE + x.g0 * SIDE + x.b0];
        };
    }

    /** The rest of vol(x, m) with the upper bound along dir moved to pos. */
    private static long top(Box x, int dir, int pos, long[] m) {
        return switch (dir) {
            case RED -> m[pos * PLANE + x.g1 * SIDE + x.b1] - m[pos * PLANE + x.g1 * SIDE + x.b0]
                    - m[pos * PLANE + x.g0 * SIDE + x.b1] + m[pos * PLANE + x.g0 * SIDE + x.b0];
            case GREEN -> m[x.r1 * PLANE + pos * SIDE + x.b1] - m[x.r1 * PLANE + pos * SIDE + x.b0]
                    - m[x.r0 * PLANE + pos * SIDE + x.b1] + m[x.r0 * PLANE + pos * SIDE + x.b0];
            default -> m[x.r1 * PLANE + x.g1 * SIDE + pos] - m[x.r1 * PLANE + x.g0 * SIDE + pos]
                    - m[x.r0 * PLANE + x.g1 * SIDE + pos] + m[x.r0 * PLANE + x.g0 * SIDE + pos];
        };
    }

    /** Sum of squared distances of the box's pixels from their mean. */
    private double variance(Box x) {
        double r = vol(x, mr), g = vol(x, mg), b = vol(x, mb);
        return vol(x, m2) - (r * r + g * g + b * b) / vol(x, wt);
    }

    /** The best cut of x along dir (the one leaving the least variance, as the largest sum of |mean|²·weight); sets cut, -1 if none. */
    private double maximize(Box x, int dir, int first, int last, long wr, long wg, long wb, long ww) {
        long br = bottom(x, dir, mr), bg = bottom(x, dir, mg), bb = bottom(x, dir, mb), bw = bottom(x, dir, wt);
        double best = 0;
        cut = -1;
        for (int i = first; i < last; i++) {
            double hr = br + top(x, dir, i, mr), hg = bg + top(x, dir, i, mg), hb = bb + top(x, dir, i, mb);
            long hw = bw + top(x, dir, i, wt);
            if (hw == 0 || hw == ww) continue;
            double score = (hr * hr + hg * hg + hb * hb) / hw;
            hr = wr - hr;
            hg = wg - hg;
            hb = wb - hb;
            score += (hr * hr + hg * hg + hb * hb) / (ww - hw);
            if (score > best) {
                best = score;
                cut = i;
            }
        }
        return best;
    }

    /** Splits a into a (lower part) and b (upper part) along its best axis; false if it cannot be split. */
    private boolean split(Box a, Box b) {
        long wr = vol(a, mr), wg = vol(a, mg), wb = vol(a, mb), ww = vol(a, wt);
        double maxR = maximize(a, RED, a.r0 + 1, a.r1, wr, wg, wb, ww);
        int cutR = cut;
        double maxG = maximize(a, GREEN, a.g0 + 1, a.g1, wr, wg, wb, ww);
        int cutG = cut;
        double maxB = maximize(a, BLUE, a.b0 + 1, a.b1, wr, wg, wb, ww);
        int cutB = cut;
        if (maxR >= maxG && maxR >= maxB) {
            if (cutR < 0) return false;
            b.set(cutR, a.r1, a.g0, a.g1, a.b0, a.b1);
            a.r1 = cutR;
        } else if (maxG >= maxB) {
            b.set(a.r0, a.r1, cutG, a.g1, a.b0, a.b1);
            a.g1 = cutG;
        } else {
            b.set(a.r0, a.r1, a.g0, a.g1, cutB, a.b1);
            a.b1 = cutB;
        }
        return true;
    }

    /** A box of histogram cells: lower bounds exclusive, upper inclusive (Wu's convention). */
    private static final class Box {
        int r0, r1, g0, g1, b0, b1;

        void set(int r0, int r1, int g0, int g1, int b0, int b1) {
            this.r0 = r0;
            this.r1 = r1;
            this.g0 = g0;
            this.g1 = g1;
            this.b0 = b0;
            this.b1 = b1;
        }

        int volume() {
            return (r1 - r0) * (g1 - g0) * (b1 - b0);
        }
    }

    // ---- mapping

    /** Floyd–Steinberg: each pixel's error (in 1/16ths) goes 7 right, 3 down-left, 5 down, 1 down-right. */
    private void diffuse(int w, int h, byte[] index) {
        int[] cur = new int[3 * (w + 2)], below = new int[3 * (w + 2)];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = pixels[y * w + x], e = 3 * (x + 1);
                int r = clamp(((p >> 16) & 255) + cur[e] / 16), g = clamp(((p >> 8) & 255) + cur[e + 1] / 16), b = clamp((p & 255) + cur[e + 2] / 16);
                int k = nearest(r, g, b);
                index[y * w + x] = (byte) k;
                spread(cur, below, e, r - red[k]);
                spread(cur, below, e + 1, g - green[k]);
                spread(cur, below, e + 2, b - blue[k]);
            }
            int[] t = cur;
            cur = below;
            below = t;
            Arrays.fill(below, 0);
        }
    }

    private static void spread(int[] cur, int[] below, int e, int err) {
        cur[e + 3] += 7 * err;
        below[e - 3] += 3 * err;
        below[e] += 5 * err;
        below[e + 3] += err;
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    /** The palette index nearest to (r, g, b) in RGB distance; ties go to the lower index. */
    private int nearest(int r, int g, int b) {
        int cell = (r >> 3) << 10 | (g >> 3) << 5 | b >> 3;
        if (cellStart[cell] < 0) fillCell(cell);
        int start = cellStart[cell], end = start + cellCount[cell], best = candidates[start], bestD = Integer.MAX_VALUE;
        for (int j = start; j < end; j++) {
            int k = candidates[j], dr = r - red[k], dg = g - green[k], db = b - blue[k], d = dr * dr + dg * dg + db * db;
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best;
    }

    /** Lists the entries whose nearest point in the cell is no farther than the best entry's farthest point. */
    private void fillCell(int cell) {
        int r0 = (cell >> 10) << 3, g0 = ((cell >> 5) & 31) << 3, b0 = (cell & 31) << 3;
        int bound = Integer.MAX_VALUE;
        for (int k = 0; k < size; k++) bound = Math.min(bound, far(red[k], r0) + far(green[k], g0) + far(blue[k], b0));
        if (candidates.length < candidateEnd + size) candidates = Arrays.copyOf(candidates, Math.max(2 * candidates.length, candidateEnd + size));
        cellStart[cell] = candidateEnd;
        for (int k = 0; k < size; k++)
            if (near(red[k], r0) + near(green[k], g0) + near(blue[k], b0) <= bound) candidates[candidateEnd++] = k;
        cellCount[cell] = candidateEnd - cellStart[cell];
    }

    /** Squared distance from v to the nearest value in lo..lo+7. */
    private static int near(int v, int lo) {
        int d = v < lo ? lo - v : v > lo + 7 ? v - lo - 7 : 0;
        return d * d;
    }

    /** Squared distance from v to the farthest value in lo..lo+7. */
    private static int far(int v, int lo) {
        int d = Math.max(Math.abs(v - lo), Math.abs(v - lo - 7));
        return d * d;
    }
}
