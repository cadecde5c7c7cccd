package dev.tav4j.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.config.Json;
import dev.tav4j.runtime.Tensor;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * transformers' CLIPImageProcessor on 8-bit RGB images: resize (the shortest side to {@code shortestEdge}, the other
 * side {@code int(shortestEdge · long / short)}; or straight to a fixed height × width) with Pillow's bicubic filter
 * ({@link PilBicubic}, the result 8-bit as PIL returns it), centre crop (top = (h − cropH) // 2, left likewise),
 * rescale by 1/255 (in double, then float32) and normalise ((x − mean) / std in float32), channels last.
 *
 * @param shortestEdge the resize target of the shortest side; 0 when {@code height}/{@code width} give a fixed size
 */
public record ClipImageProcessor(boolean resize, int shortestEdge, int height, int width, boolean centerCrop, int cropHeight,
                                 int cropWidth, boolean rescale, double rescaleFactor, boolean normalize, float[] mean, float[] std) {
    /** OpenAI CLIP's normalisation (transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD). */
    public static final float[] OPENAI_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] OPENAI_STD = {0.26862954f, 0.26130258f, 0.27577711f};
    private static final int PIL_BICUBIC = 3;

    public ClipImageProcessor {
        mean = mean.clone();
        std = std.clone();
    }

    /** CLIPImageProcessor's defaults at {@code imageSize}: shortest side to it, centre crop of it, CLIP mean/std. */
    public static ClipImageProcessor defaults(int imageSize) {
        return new ClipImageProcessor(true, imageSize, 0, 0, true, imageSize, imageSize, true, 1 / 255.0, true, OPENAI_MEAN, OPENAI_STD);
    }

    /**
     * The processor of a CLIP folder: its {@code preprocessor_config.json} where there is one (the keys it leaves out
     * default as in transformers), else {@link #defaults} at the vision tower's {@code imageSize}.
     */
    public static ClipImageProcessor load(Path folder, int imageSize) {
        Path file = folder.resolve("preprocessor_config.json");
        if (!Files.isRegularFile(file)) return defaults(imageSize);
        JsonNode n = Json.read(file);
        String where = file.toString();
        if (!n.isObject()) throw new ConfigException(where + ": expected a JSON object");
        int resample = n.path("resample").asInt(PIL_BICUBIC);
        if (resample != PIL_BICUBIC)
            throw new ConfigException(where + ": resample " + n.get("resample") + " is not supported (only 3, bicubic, as CLIP uses)");
        int[] size = size(n.get("size"), where, "size", imageSize, true);
        int[] crop = size(n.get("crop_size"), where, "crop_size", imageSize, false);
        float[] mean = triple(n.get("image_mean"), where, "image_mean", OPENAI_MEAN);
        float[] std = triple(n.get("image_std"), where, "image_std", OPENAI_STD);
        for (float s : std) if (!(s > 0)) throw new ConfigException(where + ": image_std must be positive, found " + s);
        JsonNode factor = n.get("rescale_factor");
        return new ClipImageProcessor(flag(n, "do_resize", where), size[0], size[1], size[2], flag(n, "do_center_crop", where),
                crop[1], crop[2], flag(n, "do_rescale", where),
                factor == null || factor.isNull() ? 1 / 255.0 : factor.asDouble(), flag(n, "do_normalize", where), mean, std);
    }

    /** {shortestEdge, height, width}: an integer is the shortest edge (resize) or a square (crop); else an object. */
    private static int[] size(JsonNode v, String where, String key, int dflt, boolean shortest) {
        if (v == null || v.isNull()) return shortest ? new int[]{dflt, 0, 0} : new int[]{0, dflt, dflt};
        if (v.isIntegralNumber()) {
            int s = positive(v, where, key);
            return shortest ? new int[]{s, 0, 0} : new int[]{0, s, s};
        }
        if (v.isObject()) {
            if (shortest && v.has("shortest_edge") && !v.has("longest_edge")) return new int[]{positive(v.get("shortest_edge"), where, key + ".shortest_edge"), 0, 0};
            if (v.has("height") && v.has("width"))
                return new int[]{0, positive(v.get("height"), where, key + ".height"), positive(v.get("width"), where, key + ".width")};
        }
        throw new ConfigException(where + ": '" + key + "' must be an integer, {\"shortest_edge\": N}"
                + " or {\"height\": H, \"width\": W}, found " + v);
    }

    private static int positive(JsonNode v, String where, String key) {
        if (v == null || !v.isIntegralNumber() || v.asInt() < 1) throw new ConfigException(where + ": '" + key + "' must be a positive integer, found " + v);
        return v.asInt();
    }

    private static float[] triple(JsonNode v, String where, String key, float[] dflt) {
        if (v == null || v.isNull()) return dflt;
        if (!v.isArray() || v.size() != 3 || !v.get(0).isNumber() || !v.get(1).isNumber() || !v.get(2).isNumber())
            throw new ConfigException(where + ": '" + key + "' must be a list of 3 numbers (R, G, B), found " + v);
        return new float[]{(float) v.get(0).asDouble(), (float) v.get(1).asDouble(), (float) v.get(2).asDouble()};
    }

    private static boolean flag(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return true;
        if (!v.isBoolean()) throw new ConfigException(where + ": '" + key + "' must be true or false, found " + v);
        return v.booleanValue();
    }

    /** transformers' get_resize_output_image_size: {height, width} after the resize step. */
    public int[] resizedSize(int h, int w) {
        if (!resize) return new int[]{h, w};
        if (shortestEdge == 0) return new int[]{height, width};
        int shortSide = Math.min(h, w), longSide = Math.max(h, w);
        int newLong = (int) ((double) shortestEdge * longSide / shortSide);
        return w <= h ? new int[]{newLong, shortestEdge} : new int[]{shortestEdge, newLong};
    }

    /** pixel_values of one image: rgb is h × w × 3 bytes → [cropH, cropW, 3] floats (channels last). */
    public float[] pixelValues(byte[] rgb, int w, int h) {
        int[] hw = resizedSize(h, w);
        byte[] img = hw[0] == h && hw[1] == w ? rgb : PilBicubic.resize(rgb, w, h, hw[1], hw[0]);
        int rh = hw[0], rw = hw[1], top = 0, left = 0, oh = rh, ow = rw;
        if (centerCrop) {
            if (rh < cropHeight || rw < cropWidth)
                throw new IllegalArgumentException("image of " + rw + "x" + rh + " after the resize is smaller than the "
                        + cropWidth + "x" + cropHeight + " centre crop");
            top = (rh - cropHeight) / 2;
            left = (rw - cropWidth) / 2;
            oh = cropHeight;
            ow = cropWidth;
        }
        float[] out = new float[oh * ow * 3];
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                for (int c = 0; c < 3; c++) {
                    int u8 = img[((top + y) * rw + left + x) * 3 + c] & 255;
                    float v = rescale ? (float) (u8 * rescaleFactor) : u8;
                    out[(y * ow + x) * 3 + c] = normalize ? (v - mean[c]) / std[c] : v;
                }
        return out;
    }

    /** pixel_values of images of one output size → a host tensor [N, H, W, 3]. */
    public Tensor pixelValues(List<BufferedImage> images) {
        if (images.isEmpty()) throw new IllegalArgumentException("no images to preprocess");
        float[][] each = new float[images.size()][];
        int[] hw = null;
        for (int i = 0; i < each.length; i++) {
            BufferedImage im = images.get(i);
            int[] out = outputSize(im.getHeight(), im.getWidth());
            if (hw != null && (hw[0] != out[0] || hw[1] != out[1]))
                throw new IllegalArgumentException("image " + i + " preprocesses to " + out[1] + "x" + out[0] + ", image 0 to " + hw[1] + "x" + hw[0]);
            hw = out;
            each[i] = pixelValues(rgb(im), im.getWidth(), im.getHeight());
        }
        Tensor t = Tensor.host(each.length, hw[0], hw[1], 3);
        for (int i = 0; i < each.length; i++)
            for (int j = 0; j < each[i].length; j++) t.set((long) i * each[i].length + j, each[i][j]);
        return t;
    }

    /** {height, width} of the pixel values of an h × w image. */
    public int[] outputSize(int h, int w) {
        return centerCrop ? new int[]{cropHeight, cropWidth} : resizedSize(h, w);
    }

    /** The 8-bit RGB bytes of an image, h × w × 3 (alpha dropped, as convert("RGB") does for an opaque image). */
    public static byte[] rgb(BufferedImage im) {
        int w = im.getWidth(), h = im.getHeight();
        int[] px = im.getRGB(0, 0, w, h, null, 0, w);
        byte[] out = new byte[w * h * 3];
        for (int i = 0; i < px.length; i++) {
            out[3 * i] = (byte) (px[i] >> 16);
            out[3 * i + 1] = (byte) (px[i] >> 8);
            out[3 * i + 2] = (byte) px[i];
        }
        return out;
    }

    /** An image as 8-bit RGB resized straight to width × height with Pillow's bicubic (LOVEU-TGVE resizes every frame to 480×480 first). */
    public static BufferedImage resizeStraight(BufferedImage im, int width, int height) {
        if (im.getWidth() == width && im.getHeight() == height) return im;
        byte[] out = PilBicubic.resize(rgb(im), im.getWidth(), im.getHeight(), width, height);
        BufferedImage r = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] px = new int[width * height];
        for (int i = 0; i < px.length; i++) px[i] = (out[3 * i] & 255) << 16 | (out[3 * i + 1] & 255) << 8 | (out[3 * i + 2] & 255);
        r.setRGB(0, 0, width, height, px, 0, width);
        return r;
    }

    @Override public float[] mean() { return mean.clone(); }

    @Override public float[] std() { return std.clone(); }
}
