package dev.tav4j.model.tune;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Cheap content hashes that say whether a resumed run is the same run. A model folder is hashed over every file's
 * relative path and size, the JSON/text files whole, and each safetensors file's header (its 8-byte length and the
 * JSON with every tensor's name, dtype, shape and offsets), not the gigabytes of weights: a re-saved or re-converted
 * checkpoint with other tensors or layout differs, the same files in another folder do not. A clip is hashed over
 * its sampled frames' pixels, so the same frames from a moved or re-encoded file are the same video.
 */
public final class RunFingerprint {
    private RunFingerprint() {}

    /** SHA-256 (first 16 hex digits) of a model folder as described above. */
    public static String model(Path dir) {
        MessageDigest md = sha256();
        try {
            folder(md, dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir + " to fingerprint it: " + e.getMessage(), e);
        }
        return hex(md);
    }

    /**
     * SHA-256 (first 16 hex digits) of a model as {@code --model}, {@code --config} and {@code --prediction-type} give
     * it. A folder alone hashes as {@link #model(Path)} (so earlier runs' checkpoints still resume); a single file
     * hashes its size and header (not its name or place), then the config (a folder as above, a YAML whole) and
     * the prediction type, since each of them changes the model tuned from.
     */
    public static String model(Path model, Path config, String predictionType) {
        if (Files.isDirectory(model) && config == null && predictionType == null) return model(model);
        MessageDigest md = sha256();
        try {
            if (Files.isDirectory(model)) {
                folder(md, model);
            } else {
                long size = Files.size(model);
                md.update(("single-file\0" + size + "\0").getBytes(StandardCharsets.UTF_8));
                md.update(safetensorsHeader(model, size));
            }
            if (config != null) {
                md.update("\0config\0".getBytes(StandardCharsets.UTF_8));
                if (Files.isDirectory(config)) folder(md, config);
                else md.update(Files.readAllBytes(config));
            }
            if (predictionType != null) md.update(("\0prediction-type\0" + predictionType).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + model + (config == null ? "" : " or " + config) + " to fingerprint it: " + e.getMessage(), e);
        }
        return hex(md);
    }

    private static void folder(MessageDigest md, Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                String rel = dir.relativize(p).toString().replace('\\', '/');
                long size = Files.size(p);
                md.update((rel + "\0" + size + "\0").getBytes(StandardCharsets.UTF_8));
                String name = rel.toLowerCase(java.util.Locale.ROOT);
                if (name.endsWith(".safetensors")) md.update(safetensorsHeader(p, size));
                else if ((name.endsWith(".json") || name.endsWith(".txt")) && size < (16 << 20)) md.update(Files.readAllBytes(p));
            }
        }
    }

    /** SHA-256 (first 16 hex digits) of frames' RGB pixels and sizes. */
    public static String frames(List<BufferedImage> frames) {
        MessageDigest md = sha256();
        for (BufferedImage f : frames) {
            int w = f.getWidth(), h = f.getHeight();
            int[] rgb = f.getRGB(0, 0, w, h, null, 0, w);
            ByteBuffer b = ByteBuffer.allocate(8 + rgb.length * 4).order(ByteOrder.LITTLE_ENDIAN).putInt(w).putInt(h);
            for (int v : rgb) b.putInt(v & 0xffffff);
            md.update(b.array());
        }
        return hex(md);
    }

    private static byte[] safetensorsHeader(Path p, long size) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            byte[] len = in.readNBytes(8);
            if (len.length < 8) return len;
            long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (n < 0 || n > Math.min(size - 8, 100L << 20)) return len;  // not a safetensors header: its size is hashed
            byte[] header = in.readNBytes((int) n);
            ByteBuffer b = ByteBuffer.allocate(8 + header.length).put(len).put(header);
            return b.array();
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(MessageDigest md) {
        return "sha256:" + HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }
}
