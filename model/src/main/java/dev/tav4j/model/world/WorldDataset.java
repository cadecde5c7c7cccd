package dev.tav4j.model.world;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.pipeline.VideoOutput;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The world on disk, as {@code tav world} writes it: one video (GIF or MP4; a PNG for one-frame stills) per sample,
 * named by its index (00000.gif, …), optionally its soft masks (masks/00000.png: the frames' coverage side by side,
 * 8-bit grey), {@code captions.jsonl} (a line per sample: file, caption, split and the whole ground truth) and
 * {@code world.json} (how to make the same files again).
 */
public final class WorldDataset {
    private WorldDataset() {}

    /** The file format of the samples. */
    public enum Format {
        GIF("gif"), MP4("mp4"), PNG("png");

        final String ext;

        Format(String ext) { this.ext = ext; }
    }

    /** What to write: samples 0..count−1 of {@code seed} in {@code split}. */
    public record Spec(long seed, int count, Split split, Format format, int fps, boolean masks) {}

    /** One line of captions.jsonl, read back. */
    public record Entry(Path file, String caption, String imageCaption, Split split, Attributes attributes, double[][] centroids,
                        long seed, long index) {}

    public static final String CAPTIONS = "captions.jsonl", MANIFEST = "world.json";

    /** Writes the samples; returns them in order (their videos are the unrounded renders). */
    public static List<Sample> write(World world, Path dir, Spec spec) throws IOException {
        if (spec.format() == Format.PNG && world.frames() != 1)
            throw new IllegalArgumentException("PNG holds stills: use --frames 1, or GIF/MP4 for " + world.frames() + " frames");
        Files.createDirectories(dir);
        if (spec.masks()) Files.createDirectories(dir.resolve("masks"));
        List<Sample> out = new ArrayList<>(spec.count());
        Path captions = dir.resolve(CAPTIONS), tmp = dir.resolve("." + CAPTIONS + ".part");
        try (BufferedWriter jl = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            for (int i = 0; i < spec.count(); i++) {
                Sample s = world.sample(spec.seed(), i, spec.split());
                String name = String.format(Locale.ROOT, "%05d.%s", i, spec.format().ext);
                List<BufferedImage> frames = s.video().toImages();
                if (spec.format() == Format.PNG) writePng(dir.resolve(name), frames.getFirst());
                else VideoOutput.write(dir.resolve(name), frames, spec.fps());
                String mask = null;
                if (spec.masks()) {
                    mask = String.format(Locale.ROOT, "masks/%05d.png", i);
                    writePng(dir.resolve(mask), maskStrip(s, world.width(), world.height()));
                }
                jl.write(Json.MAPPER.writeValueAsString(describe(s, name, mask)));
                jl.write('\n');
                out.add(s);
            }
        }
        Files.move(tmp, captions, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.writeString(dir.resolve(MANIFEST), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(manifest(world, spec)) + "\n");
        return out;
    }

    /** The JSON line of one sample: file, captions, split, seed/index, attributes, background parameters, path, centroids, areas, mask file. */
    public static ObjectNode describe(Sample s, String file, String maskFile) {
        Scene sc = s.scene();
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("file", file);
        n.put("caption", s.caption());
        n.put("image_caption", s.imageCaption());
        n.put("split", s.split().name().toLowerCase(Locale.ROOT));
        n.put("seed", s.seed());
        n.put("index", s.index());
        n.put("shape", sc.shape().word());
        n.put("colour", sc.colour().word());
        n.put("colour_rgb", String.format("#%06x", sc.colour().rgb24()));
        ObjectNode bg = n.putObject("background");
        Background b = sc.background();
        bg.put("pattern", b.pattern().word());
        bg.put("colour", b.colour().word());
        bg.put("colour_rgb", String.format("#%06x", b.colour().rgb24()));
        if (b.pattern() != Pattern.PLAIN) bg.put("varies_along", b.alongY() ? "y" : "x");
        if (b.pattern() == Pattern.GRADIENT) bg.put("light_first", b.flip());
        if (b.pattern() == Pattern.STRIPES) {
            bg.put("periods", b.periods());
            bg.put("phase", b.phase());
        }
        n.put("motion", sc.motion().word());
        n.put("size", sc.size());
        n.set("path", points(sc.path()));
        n.set("centroids", points(s.centroids()));
        ArrayNode areas = n.putArray("areas");
        for (double a : s.areas()) areas.add(a);
        if (maskFile != null) n.put("mask", maskFile);
        return n;
    }

    private static ArrayNode points(double[][] p) {
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (double[] q : p) a.addArray().add(q[0]).add(q[1]);
        return a;
    }

    private static ObjectNode manifest(World world, Spec spec) {
        ObjectNode m = Json.MAPPER.createObjectNode();
        m.put("generator", "tav4j world (docs/world.md)");
        m.put("command", String.format(Locale.ROOT, "tav world --seed %d --count %d --width %d --height %d --frames %d --split %s --format %s --fps %d%s",
                spec.seed(), spec.count(), world.width(), world.height(), world.frames(), spec.split().name().toLowerCase(Locale.ROOT),
                spec.format().ext, spec.fps(), spec.masks() ? "" : " --no-masks"));
        m.put("seed", spec.seed());
        m.put("count", spec.count());
        m.put("width", world.width());
        m.put("height", world.height());
        m.put("frames", world.frames());
        m.put("fps", spec.fps());
        m.put("split", spec.split().name().toLowerCase(Locale.ROOT));
        m.put("held_out_rule", "a combination is held out (split eval) iff (ordinal of shape + colour + background pattern + background colour + motion) % "
                + Split.MODULUS + " == 0, ordinals in the order below (motion none = 0 for stills)");
        ArrayNode shapes = m.putArray("shapes");
        for (ShapeKind k : ShapeKind.values()) shapes.add(k.word());
        ObjectNode palette = m.putObject("colours");
        for (Colour c : Colour.values()) palette.put(c.word(), String.format("#%06x", c.rgb24()));
        ArrayNode patterns = m.putArray("patterns");
        for (Pattern p : Pattern.values()) patterns.add(p.word());
        ArrayNode motions = m.putArray("motions");
        for (Motion mo : Motion.values()) motions.add(mo.word());
        return m;
    }

    /** The frames' soft masks side by side, 8-bit grey (coverage · 255, rounded). */
    static BufferedImage maskStrip(Sample s, int w, int h) {
        int f = s.alpha().length;
        BufferedImage im = new BufferedImage(w * f, h, BufferedImage.TYPE_BYTE_GRAY);
        var raster = im.getRaster();
        for (int i = 0; i < f; i++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    raster.setSample(i * w + x, y, 0, Math.round(s.alpha()[i][y * w + x] * 255f));
        return im;
    }

    private static void writePng(Path file, BufferedImage im) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".part");
        if (!ImageIO.write(im, "png", tmp.toFile())) throw new IOException("no PNG writer");
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Reads captions.jsonl of a folder {@code tav world} wrote. */
    public static List<Entry> read(Path dir) {
        Path file = dir.resolve(CAPTIONS);
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            try {
                JsonNode n = Json.MAPPER.readTree(lines.get(i));
                JsonNode bg = n.get("background");
                Attributes a = new Attributes(ShapeKind.valueOf(upper(n, "shape")), Colour.valueOf(upper(n, "colour")),
                        Pattern.valueOf(upper(bg, "pattern")), Colour.valueOf(upper(bg, "colour")), Motion.valueOf(upper(n, "motion")));
                JsonNode c = n.get("centroids");
                double[][] cs = new double[c.size()][];
                for (int k = 0; k < cs.length; k++) cs[k] = new double[]{c.get(k).get(0).asDouble(), c.get(k).get(1).asDouble()};
                out.add(new Entry(dir.resolve(n.get("file").asText()), n.get("caption").asText(), n.get("image_caption").asText(),
                        Split.valueOf(upper(n, "split")), a, cs, n.get("seed").asLong(), n.get("index").asLong()));
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + ": not a world sample (" + e.getMessage() + ")", e);
            }
        }
        return out;
    }

    private static String upper(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isTextual()) throw new IllegalArgumentException("missing \"" + key + "\"");
        return v.asText().toUpperCase(Locale.ROOT);
    }
}
