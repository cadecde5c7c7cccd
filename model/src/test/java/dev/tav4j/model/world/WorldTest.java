package dev.tav4j.model.world;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The world: deterministic pixels, exact coverage, captions, motions and the held-out rule. */
class WorldTest {
    /** SHA-256 of the float bits (big-endian) of sample 0 of seed 42 at 64×64×8, and of its caption; fixed when the world was made. */
    static final String GOLDEN_PIXELS = "3f916db189b74482ef0109b7c5080aaffa017ca054608845b6af06827225898e";
    static final String GOLDEN_CAPTION = "a pink diamond is moving down on a black background";

    static String sha256(float[] v) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4);
        for (float x : v) b.putInt(Float.floatToRawIntBits(x));
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
    }

    @Test void sameSeedSamePixelsAndGoldenChecksum() throws Exception {
        Sample a = World.defaults().sample(42, 0), b = new World(64, 64, 8).sample(42, 0);
        assertArrayEquals(a.video().rgb(), b.video().rgb());
        assertEquals(a.caption(), b.caption());
        assertArrayEquals(a.centroids(), b.centroids());
        assertEquals(GOLDEN_CAPTION, a.caption());
        assertEquals(GOLDEN_PIXELS, sha256(a.video().rgb()), "the world's pixels changed: every dataset and metric made with it changes");
        // other indices and seeds differ
        assertNotEquals(sha256(a.video().rgb()), sha256(World.defaults().sample(42, 1).video().rgb()));
        assertNotEquals(sha256(a.video().rgb()), sha256(World.defaults().sample(43, 0).video().rgb()));
    }

    @Test void samplesIndependentOfOrderAndSplitFilterIsStable() {
        World w = World.defaults();
        Sample late = w.sample(7, 5);
        for (int i = 0; i < 5; i++) w.sample(7, i);
        assertArrayEquals(late.video().rgb(), w.sample(7, 5).video().rgb());
    }

    @Test void discCoverageIsExactArea() {
        for (double[] c : new double[][]{{16.3, 17.7, 9.25}, {20, 20, 12}, {10.5, 11.1, 3.3}, {31.9, 8.01, 7.77}}) {
            float[] a = new float[40 * 40];
            Raster.disc(c[0], c[1], c[2], 40, 40, a);
            double sum = 0;
            for (float v : a) sum += v;
            assertEquals(Math.PI * c[2] * c[2], sum, 1e-3, "disc " + java.util.Arrays.toString(c));
        }
        // one pixel against a fine supersampling of it
        for (int[] px : new int[][]{{7, 3}, {9, 9}, {3, 8}, {12, 5}}) {
            double exact = Raster.discArea(px[0] - 8.2, px[0] + 1 - 8.2, px[1] - 7.6, px[1] + 1 - 7.6, 4.9);
            int n = 1000, in = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) {
                    double x = px[0] + (i + 0.5) / n - 8.2, y = px[1] + (j + 0.5) / n - 7.6;
                    if (x * x + y * y <= 4.9 * 4.9) in++;
                }
            assertEquals((double) in / n / n, exact, 2e-3, "pixel " + px[0] + "," + px[1]);
        }
    }

    @Test void polygonCoverageIsExactAreaConvexOrNot() {
        for (ShapeKind k : ShapeKind.values()) {
            double[] unit = k.unitPolygon();
            if (unit == null) continue;
            double s = 11.37, cx = 20.3, cy = 19.6, area = 0;
            double[] p = new double[unit.length];
            for (int i = 0; i < unit.length; i += 2) {
                p[i] = cx + s * unit[i];
                p[i + 1] = cy + s * unit[i + 1];
            }
            for (int i = 0, j = p.length / 2 - 1; i < p.length / 2; j = i++) area += p[2 * j] * p[2 * i + 1] - p[2 * i] * p[2 * j + 1];
            float[] a = new float[40 * 40];
            Raster.polygon(p, 40, 40, a);
            double sum = 0;
            for (float v : a) sum += v;
            assertEquals(Math.abs(area) / 2, sum, 1e-3, k.toString());
        }
    }

    @Test void shapesStayInsideAndGroundTruthMatchesTheScene() {
        World w = World.defaults();
        for (int i = 0; i < 60; i++) {
            Sample s = w.sample(3, i);
            assertEquals(8, s.video().frames());
            for (int f = 0; f < 8; f++) {
                float[] a = s.alpha()[f];
                for (int x = 0; x < 64; x++) {
                    assertEquals(0, a[x]);
                    assertEquals(0, a[63 * 64 + x]);
                    assertEquals(0, a[x * 64]);
                    assertEquals(0, a[x * 64 + 63]);
                }
                assertEquals(s.areas()[0], s.areas()[f], 1e-3, "the area is the same in every frame");
            }
            assertTrue(Colour.contrasts(s.scene().colour(), s.scene().background().colour()));
            assertEquals(Split.of(s.scene().attributes()), s.split());
        }
    }

    @Test void motionsMoveAsTheirCaptionsSay() {
        World w = World.defaults();
        for (Motion m : Motion.moving())
            for (int i = 0; i < 5; i++) {
                Sample s = w.sample(11, i, Split.ALL, Attributes.ANY.withMotion(m));
                double[][] c = s.centroids();
                assertTrue(s.caption().contains(" is " + m.phrase() + " on "), s.caption());
                double dx = c[7][0] - c[0][0], dy = c[7][1] - c[0][1];
                switch (m) {
                    case RIGHT -> assertTrue(dx > 64 * 0.3 && Math.abs(dy) < 1e-6, s.caption() + " dx " + dx);
                    case LEFT -> assertTrue(dx < -64 * 0.3 && Math.abs(dy) < 1e-6, s.caption() + " dx " + dx);
                    case DOWN -> assertTrue(dy > 64 * 0.3 && Math.abs(dx) < 1e-6, s.caption() + " dy " + dy);
                    case UP -> assertTrue(dy < -64 * 0.3 && Math.abs(dx) < 1e-6, s.caption() + " dy " + dy);
                    case BOUNCING -> {
                        double top = Double.POSITIVE_INFINITY;
                        for (double[] p : c) {
                            assertEquals(c[0][0], p[0], 1e-6, "a bounce keeps its column");
                            top = Math.min(top, p[1]);
                        }
                        assertTrue(c[0][1] - top > 64 * 0.2 && Math.abs(c[7][1] - c[0][1]) < 1e-6, s.caption());
                    }
                    case ORBITING -> {
                        double mx = 0, my = 0;
                        for (double[] p : c) {
                            mx += p[0] / 8;
                            my += p[1] / 8;
                        }
                        double r0 = Math.hypot(c[0][0] - mx, c[0][1] - my);
                        assertTrue(r0 > 2, s.caption());
                        for (double[] p : c) assertEquals(r0, Math.hypot(p[0] - mx, p[1] - my), 0.05 * r0 + 0.2, s.caption());
                    }
                    default -> throw new AssertionError(m);
                }
            }
    }

    @Test void stillsAndOtherSizes() {
        Sample s = new World(64, 64, 1).sample(1, 0);
        assertEquals(Motion.NONE, s.scene().motion());
        assertEquals(s.imageCaption(), s.caption());
        assertTrue(s.caption().matches("an? \\w+ \\w+ on an? \\w+ (gradient |striped )?background"), s.caption());
        Sample r = new World(128, 64, 4).sample(1, 0);
        assertEquals(4, r.video().frames());
        assertEquals(128, r.video().width());
        assertEquals(64, r.video().height());
        assertThrows(IllegalArgumentException.class, () -> new World(8, 8, 8));
    }

    @Test void captionsParseBackToTheirAttributes() {
        World w = World.defaults();
        for (int i = 0; i < 100; i++) {
            Scene sc = w.sample(5, i).scene();
            WorldPrompt p = WorldPrompt.parse(sc.caption());
            assertEquals(sc.attributes(), new Attributes(p.shape(), p.colour(), p.pattern(), p.backgroundColour(), p.motion()), sc.caption());
        }
        assertTrue(w.sample(5, 0, Split.ALL, Attributes.ANY.withColour(Colour.ORANGE)).caption().startsWith("an orange "));
    }

    @Test void heldOutRuleSplitsCombinationsAndKeepsEveryPairInTraining() {
        int total = 0, held = 0;
        Set<String> trainPairs = new HashSet<>(), allPairs = new HashSet<>();
        for (ShapeKind s : ShapeKind.values())
            for (Colour c : Colour.values())
                for (Pattern p : Pattern.values())
                    for (Colour b : Colour.values())
                        for (Motion m : Motion.moving()) {
                            if (!Colour.contrasts(c, b)) continue;
                            Attributes a = new Attributes(s, c, p, b, m);
                            total++;
                            Object[] v = {s, "c" + c, p, "b" + b, m};
                            boolean eval = Split.of(a) == Split.EVAL;
                            if (eval) held++;
                            for (int i = 0; i < 5; i++)
                                for (int j = i + 1; j < 5; j++) {
                                    allPairs.add(v[i] + "/" + v[j]);
                                    if (!eval) trainPairs.add(v[i] + "/" + v[j]);
                                }
                        }
        assertEquals(7560, total);
        assertEquals(1082, held, "about one combination in seven is held out");
        assertEquals(allPairs, trainPairs, "every pair of attribute values occurs in training");
        World w = World.defaults();
        EnumSet<Split> seen = EnumSet.noneOf(Split.class);
        for (int i = 0; i < 40; i++) {
            assertEquals(Split.TRAIN, w.sample(2, i, Split.TRAIN).split());
            assertEquals(Split.EVAL, w.sample(2, i, Split.EVAL).split());
            seen.add(w.sample(2, i).split());
        }
        assertEquals(EnumSet.of(Split.TRAIN, Split.EVAL), seen);
        // a filter that names a training combination cannot be met in the eval split
        Attributes trainOnly = new Attributes(ShapeKind.CIRCLE, Colour.RED, Pattern.PLAIN, Colour.BLUE, Motion.LEFT); // 0+0+0+4+1 = 5
        assertEquals(Split.TRAIN, Split.of(trainOnly));
        assertThrows(IllegalArgumentException.class, () -> w.sample(1, 0, Split.EVAL, trainOnly));
        assertEquals(trainOnly, w.sample(1, 0, Split.TRAIN, trainOnly).scene().attributes());
    }
}
