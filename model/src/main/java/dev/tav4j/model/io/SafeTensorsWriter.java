package dev.tav4j.model.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.Json;
import dev.tav4j.runtime.DType;
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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Writes host F32 tensors as a safetensors file (stored as F32, or rounded to F16/BF16 on the way out), in the order given, with the header padded with spaces to a
 * multiple of 8 bytes as the reference library does. Atomic: the bytes go to a temporary file in the same folder,
 * which is then moved over {@code file}; on any failure nothing is left behind and an existing file is untouched.
 */
public final class SafeTensorsWriter {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfFloat F32_LE = F32.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK_FLOATS = 1 << 18; // 1 MiB per write

    private SafeTensorsWriter() {}

    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            requireHostF32(file, e.getKey(), t);
            shapes.put(e.getKey(), t.shape());
        }
        write(file, shapes, tensors::get, false, DType.F32, metadata);
    }

    /**
     * Writes tensors given by name and shape, each made by {@code produce} only when its bytes are due and closed
     * right after: a model is saved one tensor at a time (a tuned SD UNet is 3.4 GiB; holding all of it in PyTorch
     * layout at once doubled the peak memory of saving). Each produced tensor must be host F32 of the given shape.
     */
    public static void writeEach(Path file, Map<String, int[]> shapes, Function<String, Tensor> produce, Map<String, String> metadata) {
        write(file, shapes, produce, true, DType.F32, metadata);
    }

    /**
     * As {@link #writeEach(Path, Map, Function, Map)}, stored as {@code stored}: F32 as is, F16 or BF16 rounded to
     * nearest even (what PyTorch's {@code .half()}/{@code .bfloat16()} do), for checkpoints shipped at half the size.
     */
    public static void writeEach(Path file, Map<String, int[]> shapes, Function<String, Tensor> produce, DType stored,
                                 Map<String, String> metadata) {
        write(file, shapes, produce, true, stored, metadata);
    }

    private static void write(Path file, Map<String, int[]> shapes, Function<String, Tensor> produce, boolean close,
                              DType stored, Map<String, String> metadata) {
        byte[] header = header(file, shapes, stored, metadata);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            // created with the default permissions (0666 & ~umask) like every other output; createTempFile would make it 0600
            tmp = dir.resolve("." + file.getFileName() + "." + java.util.UUID.randomUUID().toString().substring(0, 8) + ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(header));
                ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_FLOATS * 4);
                MemorySegment bufSeg = MemorySegment.ofBuffer(buf);
                for (Map.Entry<String, int[]> e : shapes.entrySet()) {
                    Tensor t = produce.apply(e.getKey());
                    try {
                        requireHostF32(file, e.getKey(), t);
                        if (!Arrays.equals(t.shape(), e.getValue()))
                            throw new SafeTensorsException(file + ": tensor '" + e.getKey() + "' has shape " + Arrays.toString(t.shape())
                                    + ", the header says " + Arrays.toString(e.getValue()));
                        MemorySegment src = t.segment();
                        for (long i = 0, n = t.size(); i < n; i += CHUNK_FLOATS) {
                            int m = (int) Math.min(CHUNK_FLOATS, n - i);
                            switch (stored) {
                                case F32 -> MemorySegment.copy(src, F32, i * 4, bufSeg, F32_LE, 0, m);
                                case F16 -> {
                                    for (int j = 0; j < m; j++) bufSeg.set(I16_LE, 2L * j, Float.floatToFloat16(src.getAtIndex(F32, i + j)));
                                }
                                case BF16 -> {
                                    for (int j = 0; j < m; j++) bufSeg.set(I16_LE, 2L * j, toBf16(src.getAtIndex(F32, i + j)));
                                }
                            }
                            writeFully(ch, buf.clear().limit(m * stored.bytes()));
                        }
                    } finally {
                        if (close && t != null) t.close();
                    }
                }
                ch.force(true);
            }
            move(tmp, file);
            tmp = null;
        } catch (IOException e) {
            throw new SafeTensorsException(file + ": cannot write: " + e, e);
        } finally {
            if (tmp != null) try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* best effort */ }
        }
    }

    /** float → bfloat16, round to nearest even; NaN stays a (quiet) NaN. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    private static void requireHostF32(Path file, String name, Tensor t) {
        if (t == null || !t.isHost() || t.dtype() != DType.F32)
            throw new SafeTensorsException(file + ": tensor '" + name + "' must be a host F32 tensor to be written (got " + t + ")");
    }

    private static void move(Path tmp, Path file) throws IOException {
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING); // same folder, so only odd file systems get here
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** The JSON header, space-padded to a multiple of 8 bytes. */
    static byte[] header(Path file, Map<String, int[]> shapes, Map<String, String> metadata) {
        return header(file, shapes, DType.F32, metadata);
    }

    static byte[] header(Path file, Map<String, int[]> shapes, DType stored, Map<String, String> metadata) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) throw new SafeTensorsException(file + ": '__metadata__' cannot name a tensor");
            ObjectNode o = root.putObject(name);
            o.put("dtype", stored.name());
            ArrayNode s = o.putArray("shape");
            long elements = 1;
            for (int d : e.getValue()) {
                s.add(d);
                elements *= d;
            }
            long bytes = elements * stored.bytes();
            o.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }
}
