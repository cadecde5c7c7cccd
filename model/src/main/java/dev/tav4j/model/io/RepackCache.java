package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * Weights already repacked into the engine's layouts, kept in a safetensors file of their own so that the next load
 * maps them in place instead of repacking again. The CPU engine stores Linear weights as [in, out] and conv kernels
 * as [kh, kw, in, out]; repacking a real-size UNet from the checkpoint's PyTorch layouts means a fresh 3.4 GB of
 * memory, which the operating system hands out a page at a time (most of a first load's time). From the cache it is
 * a mapping of page-cache pages: no copy, and nothing resident that the kernel cannot drop.
 * <p>
 * One cache file per component and source: its name holds a hash of the source files' sizes, modification times
 * and headers, and of {@link #FORMAT}, so a changed checkpoint or layout never reads a stale file. The first load
 * writes it as it repacks (to a temporary file renamed when complete, so a crash or a second process leaves no half
 * file). A cache that cannot be written (read-only folder, disk full) only costs the speed-up: the load goes on and
 * the reason is reported once through {@code warn}, which also hears where a new cache file was written.
 */
public final class RepackCache implements AutoCloseable {
    /** Changes whenever the engine's packed layouts change. */
    static final String FORMAT = "tav4j-repack-1";
    /** Space kept at the start of a file being written for its header (about 130 bytes per tensor). */
    private static final int HEADER_SPACE = 4 << 20;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfFloat F32_LE = F32.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final SafeTensors hit;
    private final Consumer<String> warn;
    private Path tmp;
    private FileChannel out;
    private boolean failed;
    private ByteBuffer buf;
    private MemorySegment bufSegment;
    private long offset;
    private final List<String> entries = new ArrayList<>();

    private RepackCache(Path file, SafeTensors hit, Consumer<String> warn) {
        this.file = file;
        this.hit = hit;
        this.warn = warn;
    }

    /** The cache of {@code component} over {@code sources} in {@code dir}: hit when a complete file exists, else one to write. */
    public static RepackCache open(Path dir, String component, List<Path> sources, Consumer<String> warn) {
        Path file = dir.resolve(component.replaceAll("[^A-Za-z0-9_-]", "_") + "-" + key(sources) + ".safetensors");
        if (Files.isRegularFile(file)) {
            try {
                return new RepackCache(file, SafeTensors.open(file), warn);
            } catch (SafeTensorsException e) {
                warn.accept("repacked-weights cache " + file + " is unreadable (" + e.getMessage() + "); repacking again");
            }
        }
        return new RepackCache(file, null, warn);
    }

    /** Whether this load reads repacked weights from the cache (false: it repacks and writes them). */
    public boolean isHit() { return hit != null; }

    public Path file() { return file; }

    /** The repacked weight as a read-only view of the cache file, or null when the cache does not hold it. */
    Tensor get(String key) {
        return hit != null && hit.has(key) ? hit.mapF32(key) : null;
    }

    /** Appends a weight just repacked (a host F32 tensor; it stays the caller's). */
    void put(String key, Tensor packed) {
        if (hit != null || failed) return;
        try {
            if (out == null) {
                Files.createDirectories(file.getParent());
                tmp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".part");
                out = FileChannel.open(tmp, StandardOpenOption.WRITE);
                out.position(8 + HEADER_SPACE);
            }
            MemorySegment src = packed.segment();
            if (buf == null) {
                buf = ByteBuffer.allocateDirect(1 << 22);
                bufSegment = MemorySegment.ofBuffer(buf);  // the whole buffer, whatever its position later
            }
            MemorySegment b = bufSegment;
            long n = packed.size();
            for (long i = 0; i < n; i += 1 << 20) {
                int m = (int) Math.min(1 << 20, n - i);
                MemorySegment.copy(src, F32, i * 4, b, F32_LE, 0, m);
                buf.clear().limit(m * 4);
                while (buf.hasRemaining()) out.write(buf);
            }
            StringBuilder shape = new StringBuilder();
            for (int d : packed.shape()) shape.append(shape.isEmpty() ? "" : ",").append(d);
            entries.add("\"" + key.replace("\\", "\\\\").replace("\"", "\\\"") + "\":{\"dtype\":\"F32\",\"shape\":[" + shape
                    + "],\"data_offsets\":[" + offset + "," + (offset + n * 4) + "]}");
            offset += n * 4;
        } catch (IOException e) {
            giveUp("cannot write the repacked-weights cache " + file + ": " + e.getMessage());
        }
    }

    /** Completes the file being written (header in its reserved space, then renamed into place); no-op when reading. */
    public void finish() {
        if (out == null || failed) return;
        try {
            byte[] json = ("{\"__metadata__\":{\"format\":\"" + FORMAT + "\"}," + String.join(",", entries) + "}").getBytes(StandardCharsets.UTF_8);
            if (json.length > HEADER_SPACE) {
                giveUp("repacked-weights cache: " + entries.size() + " tensors do not fit the header space");
                return;
            }
            byte[] header = new byte[HEADER_SPACE];
            java.util.Arrays.fill(header, (byte) ' ');
            System.arraycopy(json, 0, header, 0, json.length);
            ByteBuffer b = ByteBuffer.allocate(8 + HEADER_SPACE).order(ByteOrder.LITTLE_ENDIAN).putLong(HEADER_SPACE).put(header).flip();
            while (b.hasRemaining()) out.write(b, b.position());
            out.close();
            out = null;
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
            warn.accept(String.format(java.util.Locale.ROOT, "wrote %.1f GiB of repacked weights to %s; later loads map them in place",
                    (8 + HEADER_SPACE + offset) / (double) (1L << 30), file));
        } catch (IOException e) {
            giveUp("cannot complete the repacked-weights cache " + file + ": " + e.getMessage());
        }
    }

    private void giveUp(String why) {
        failed = true;
        warn.accept(why + "; the load goes on without it");
        discardPart();
    }

    /** Closes and deletes the file being written, if any. */
    private void discardPart() {
        try {
            if (out != null) out.close();
            if (tmp != null) Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // best effort: a leftover .part file is ignored by every later load
        }
        out = null;
        tmp = null;
    }

    /** Closes the cache file (views from it stay valid until closed); a file still being written is discarded. */
    @Override public void close() {
        if (hit != null) hit.close();
        discardPart();
    }

    /** Hash of the format and of each source file's size, modification time and safetensors header. */
    static String key(List<Path> sources) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(FORMAT.getBytes(StandardCharsets.UTF_8));
            for (Path p : sources) {
                md.update(p.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                md.update(ByteBuffer.allocate(16).putLong(Files.size(p)).putLong(Files.getLastModifiedTime(p).toMillis()).array());
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                    while (len.hasRemaining() && ch.read(len) >= 0) { }
                    long n = len.flip().remaining() == 8 ? len.getLong(0) : 0;
                    ByteBuffer h = ByteBuffer.allocate((int) Math.max(0, Math.min(n, SafeTensorsHeader.MAX_HEADER_BYTES)));
                    while (h.hasRemaining() && ch.read(h) >= 0) { }
                    md.update(h.flip());
                }
            }
            return HexFormat.of().formatHex(md.digest(), 0, 12);
        } catch (IOException e) {
            throw new SafeTensorsException("cannot read " + sources + " to key the repacked-weights cache: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
