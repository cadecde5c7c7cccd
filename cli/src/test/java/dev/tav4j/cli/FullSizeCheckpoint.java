package dev.tav4j.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Writes full-size diffusers checkpoints with random weights for the full-size CLI test: the config files of the
 * real hub repos and the real libraries' tensor lists (both under test resources {@code fullsize/<flavour>/}, made by
 * {@code scripts/fullsize/make-fixtures.py}), the real CLIP vocabulary from the golden tiny checkpoint, and random
 * safetensors streamed to disk chunk by chunk (the SD UNet is 3.4 GB in F32; nothing holds a whole component).
 * <p>
 * Values follow {@code RandomWeights}' scheme (matrices ±1/√fan-in, 1-D {@code .weight} near 1, biases small) so
 * activations stay finite through the full-depth models; each tensor depends only on the seed and its name.
 */
final class FullSizeCheckpoint {
    /** sd15 ships F32 (runwayml/stable-diffusion-v1-5); sd21 is written in F16 as the hub's fp16 weights are. */
    enum Flavour {
        SD15("sd15", false), SD21("sd21", true);

        final String dir;
        final boolean f16;

        Flavour(String dir, boolean f16) {
            this.dir = dir;
            this.f16 = f16;
        }
    }

    /** One line of a weights-*.tsv manifest. */
    record Entry(String name, long[] shape) {
        long count() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private static final int CHUNK = 1 << 20; // elements per write: 4 MiB of F32

    private FullSizeCheckpoint() {}

    /** The resource folder {@code fullsize/<flavour>} (a plain folder under target/test-classes). */
    static Path resources(Flavour f) {
        URL url = FullSizeCheckpoint.class.getResource("/fullsize/" + f.dir + "/model_index.json");
        if (url == null) throw new IllegalStateException("test resource fullsize/" + f.dir + " missing; run scripts/fullsize/make-fixtures.py");
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Entry> manifest(Flavour f, String component) {
        try {
            List<Entry> out = new ArrayList<>();
            for (String line : Files.readAllLines(resources(f).resolve("weights-" + component + ".tsv"))) {
                if (line.isBlank()) continue;
                String[] p = line.split("\t");
                String[] dims = p[1].split(",");
                long[] shape = new long[dims.length];
                for (int i = 0; i < dims.length; i++) shape[i] = Long.parseLong(dims[i]);
                out.add(new Entry(p[0], shape));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Parameters of a component's manifest (what it takes as F32: 4 bytes each). */
    static long parameters(Flavour f, String component) {
        return manifest(f, component).stream().mapToLong(Entry::count).sum();
    }

    /**
     * A complete pipeline folder as the hub repo lays it out: every config file of the flavour, tokenizer
     * vocab.json/merges.txt from {@code tokenizerFrom}, and unet/vae/text_encoder weights. Returns bytes written.
     */
    static long writeModel(Flavour f, Path dir, Path tokenizerFrom, long seed) throws IOException {
        Path res = resources(f);
        try (Stream<Path> files = Files.walk(res)) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                String rel = res.relativize(p).toString();
                if (!rel.contains("/")) continue; // manifests and unet3d-config.json sit at the top, configs below
                Path to = dir.resolve(rel);
                Files.createDirectories(to.getParent());
                Files.copy(p, to, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.copy(res.resolve("model_index.json"), dir.resolve("model_index.json"), StandardCopyOption.REPLACE_EXISTING);
        for (String t : new String[]{"vocab.json", "merges.txt"})
            Files.copy(tokenizerFrom.resolve(t), dir.resolve("tokenizer").resolve(t), StandardCopyOption.REPLACE_EXISTING);
        long bytes = 0;
        bytes += writeSafetensors(dir.resolve("unet/diffusion_pytorch_model.safetensors"), manifest(f, "unet"), f.f16, seed);
        bytes += writeSafetensors(dir.resolve("vae/diffusion_pytorch_model.safetensors"), manifest(f, "vae"), f.f16, seed + 1);
        bytes += writeSafetensors(dir.resolve("text_encoder/model.safetensors"), manifest(f, "text_encoder"), f.f16, seed + 2);
        return bytes;
    }

    /**
     * A tuned UNet3D folder as Tune-A-Video saves it ({@code dir/unet/config.json} and F32 weights with the
     * temporal layers). Returns bytes written.
     */
    static long writeTuned(Flavour f, Path dir, long seed) throws IOException {
        Path unet = Files.createDirectories(dir.resolve("unet"));
        Files.copy(resources(f).resolve("unet3d-config.json"), unet.resolve("config.json"), StandardCopyOption.REPLACE_EXISTING);
        return writeSafetensors(unet.resolve("diffusion_pytorch_model.safetensors"), manifest(f, "unet3d"), false, seed);
    }

    /** A safetensors file of random tensors in manifest order, streamed: header, then each tensor in chunks. */
    static long writeSafetensors(Path file, List<Entry> tensors, boolean f16, long seed) throws IOException {
        int width = f16 ? 2 : 4;
        StringBuilder json = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        for (Entry e : tensors) {
            long end = offset + e.count() * width;
            json.append(",\"").append(e.name()).append("\":{\"dtype\":\"").append(f16 ? "F16" : "F32").append("\",\"shape\":[");
            for (int i = 0; i < e.shape().length; i++) json.append(i == 0 ? "" : ",").append(e.shape()[i]);
            json.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
        }
        json.append('}');
        while ((json.length() + 8) % 8 != 0) json.append(' '); // the data starts 8-byte aligned, as safetensors pads
        byte[] header = json.toString().getBytes(StandardCharsets.US_ASCII);

        Files.createDirectories(file.getParent());
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK * width).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[CHUNK];
        short[] halves = f16 ? new short[CHUNK] : null;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(header.length).put(header).flip();
            writeFully(ch, head);
            for (Entry e : tensors) {
                long n = e.count();
                boolean vector = e.shape().length == 1;
                long fanIn = vector ? e.shape()[0] : n / e.shape()[0];
                float bound = (float) (1.0 / Math.sqrt(Math.max(1, fanIn)));
                // the same three kinds as RandomWeights: norm scales 1 ± 0.1u, biases 0.1·bound·u, the rest bound·u
                float base = vector && e.name().endsWith(".weight") ? 1f : 0f;
                float scale = base == 1f ? 0.1f : vector ? 0.1f * bound : bound;
                SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ e.name().hashCode());
                for (long done = 0; done < n; ) {
                    int m = (int) Math.min(CHUNK, n - done);
                    fill(values, m, rnd, base, scale * 0x1.0p-31f);
                    buf.clear();
                    if (f16) {
                        for (int i = 0; i < m; i++) halves[i] = Float.floatToFloat16(values[i]);
                        buf.asShortBuffer().put(halves, 0, m);
                    } else {
                        buf.asFloatBuffer().put(values, 0, m);
                    }
                    buf.limit(m * width);
                    writeFully(ch, buf);
                    done += m;
                }
            }
            return ch.size();
        }
    }

    /** values[0..m) = base + scale·(32 random bits as a signed int): two values per nextLong. */
    private static void fill(float[] values, int m, SplittableRandom rnd, float base, float scale) {
        int i = 0;
        for (; i + 1 < m; i += 2) {
            long r = rnd.nextLong();
            values[i] = base + scale * (int) r;
            values[i + 1] = base + scale * (int) (r >>> 32);
        }
        if (i < m) values[i] = base + scale * (int) rnd.nextLong();
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** Deletes a folder tree, quietly (the checkpoints are gigabytes: a leftover must not stop the next run). */
    static void delete(Path dir) {
        if (dir == null || !Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
