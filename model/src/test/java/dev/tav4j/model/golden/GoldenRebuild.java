package dev.tav4j.model.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Rebuilds the official model files that the repository's golden copy keeps as {@code rebuild.json} entries
 * (scripts/golden-trim.py): files that repeat tiny-sd-a's tensors (the tuned UNet, the single-file LDM checkpoint)
 * are stored as their header bytes plus, in data order, where each tensor's bytes are. The file is written beside a
 * temporary name, checked against the official SHA-256 and moved into place (git-ignored), so every test reads the
 * official bytes; a file already there is checked the same way, once per JVM.
 */
final class GoldenRebuild {
    private GoldenRebuild() {}

    private static final Set<Path> CHECKED = ConcurrentHashMap.newKeySet();

    /** Rebuilds (or checks) every entry of {@code root/rebuild.json}; a root without one is left as it is. */
    static void ensure(Path root) {
        Path manifest = root.resolve("rebuild.json");
        if (!Files.isRegularFile(manifest)) return;
        for (JsonNode e : Json.read(manifest).path("files")) {
            Path target = root.resolve(e.path("path").asText()).normalize();
            if (!CHECKED.add(target)) continue;
            String want = e.path("sha256").asText();
            if (Files.isRegularFile(target) && want.equals(sha256(target))) continue;
            try {
                Files.createDirectories(target.getParent());
                Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".part");
                try {
                    if (e.has("copy")) Files.copy(root.resolve(e.path("copy").asText()), tmp, StandardCopyOption.REPLACE_EXISTING);
                    else assemble(root, e, tmp);
                    String got = sha256(tmp);
                    if (!want.equals(got))
                        throw new IllegalStateException("golden rebuild of " + target + ": SHA-256 " + got + ", the official file's is "
                                + want + " (golden/ differs from scripts/golden-trim.py's output)");
                    // concurrent test JVMs may race here: each writes its own temporary file, the same bytes win
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } catch (IOException x) {
                throw new UncheckedIOException("cannot rebuild golden file " + target, x);
            }
        }
    }

    /** Header bytes, then each tensor's bytes (in data order) from the source file the entry names. */
    private static void assemble(Path root, JsonNode e, Path out) throws IOException {
        byte[] header = Files.readAllBytes(root.resolve(e.path("header").asText()));
        List<Map.Entry<String, long[]>> order = dataOrder(header);
        JsonNode where = e.path("tensors");
        if (where.size() != order.size())
            throw new IllegalStateException(out + ": " + order.size() + " tensors in the header, " + where.size() + " in rebuild.json");
        List<Path> sources = new ArrayList<>();
        for (JsonNode s : e.path("sources")) sources.add(root.resolve(s.asText()));
        Map<Path, Map<String, long[]>> sourceHeaders = new HashMap<>();
        try (FileChannel dst = FileChannel.open(out, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            dst.write(ByteBuffer.wrap(header));
            for (int i = 0; i < order.size(); i++) {
                JsonNode w = where.get(i);
                Path src = sources.get(w.get(0).asInt());
                String name = w.size() > 1 ? w.get(1).asText() : order.get(i).getKey();
                Map<String, long[]> sh = sourceHeaders.computeIfAbsent(src, GoldenRebuild::absoluteRanges);
                long[] range = sh.get(name), want = order.get(i).getValue();
                if (range == null || range[1] - range[0] != want[1] - want[0])
                    throw new IllegalStateException(out + ": tensor " + order.get(i).getKey() + " not found as " + name + " in " + src);
                try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ)) {
                    long pos = range[0], end = range[1];
                    while (pos < end) pos += in.transferTo(pos, end - pos, dst);
                }
            }
        }
    }

    /** A safetensors header's tensors in data order: name -> [begin, end) relative to the data section. */
    private static List<Map.Entry<String, long[]>> dataOrder(byte[] header) {
        long n = ByteBuffer.wrap(header, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode h;
        try {
            h = Json.MAPPER.readTree(new String(header, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
        List<Map.Entry<String, long[]>> out = new ArrayList<>();
        h.properties().forEach(t -> {
            if (!t.getKey().equals("__metadata__"))
                out.add(Map.entry(t.getKey(), new long[]{t.getValue().path("data_offsets").get(0).asLong(), t.getValue().path("data_offsets").get(1).asLong()}));
        });
        out.sort((a, b) -> Long.compare(a.getValue()[0], b.getValue()[0]));
        return out;
    }

    /** A source file's tensors: name -> [begin, end) as file positions. */
    private static Map<String, long[]> absoluteRanges(Path file) {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (len.hasRemaining() && in.read(len) >= 0) { }
            long n = len.flip().getLong();
            ByteBuffer hb = ByteBuffer.allocate(Math.toIntExact(8 + n));
            in.position(0);
            while (hb.hasRemaining() && in.read(hb) >= 0) { }
            Map<String, long[]> out = new HashMap<>();
            for (Map.Entry<String, long[]> t : dataOrder(hb.array()))
                out.put(t.getKey(), new long[]{8 + n + t.getValue()[0], 8 + n + t.getValue()[1]});
            return out;
        } catch (IOException x) {
            throw new UncheckedIOException("cannot read " + file, x);
        }
    }

    /** The file's SHA-256, hex. */
    static String sha256(Path file) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException x) {
            throw new UncheckedIOException("cannot read " + file, x);
        } catch (NoSuchAlgorithmException x) {
            throw new IllegalStateException(x);
        }
    }
}
