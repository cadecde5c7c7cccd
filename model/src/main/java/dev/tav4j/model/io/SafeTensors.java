package dev.tav4j.model.io;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.HostStorage;
import dev.tav4j.runtime.MemoryAdvice;
import dev.tav4j.runtime.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * A read-only, memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the data. Everything is validated at {@link #open}; every error is a
 * {@link SafeTensorsException} naming the file (and the tensor). Thread-safe for reading. {@link #close()} unmaps,
 * or, while tensors from {@link #mapF32} still view the file, leaves the unmapping to the last of them.
 */
public final class SafeTensors implements AutoCloseable {

    /** One header entry; {@code begin}/{@code end} are byte offsets into the data area (after the header). */
    public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {
        public TensorInfo {
            shape = shape.clone();
        }

        @Override public long[] shape() { return shape.clone(); }

        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        @Override public String toString() {
            return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final SafeTensorsHeader header;
    private volatile boolean closed;
    /** Tensors from {@link #mapF32} that view the mapping and are not closed yet. */
    private int views;

    private SafeTensors(Path path, Arena arena, MemorySegment data, SafeTensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.header = header;
    }

    /** Opens, validates and maps {@code file}. */
    public static SafeTensors open(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8)
                throw new SafeTensorsException(file + ": file is " + size + " bytes, shorter than the 8-byte header length; truncated or not a safetensors file");
            long n = readFully(ch, file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            if (n < 0 || n > SafeTensorsHeader.MAX_HEADER_BYTES)
                throw new SafeTensorsException(file + ": header length " + Long.toUnsignedString(n)
                        + " is absurdly large (limit " + SafeTensorsHeader.MAX_HEADER_BYTES + "); not a safetensors file");
            if (8 + n > size)
                throw new SafeTensorsException(file + ": header length " + n + " runs past the end of the file ("
                        + size + " bytes); truncated or not a safetensors file");
            byte[] json = new byte[(int) n];
            readFully(ch, file, 8, (int) n).get(0, json);
            SafeTensorsHeader header = SafeTensorsHeader.parse(file, json, size - 8 - n);
            Arena arena = Arena.ofShared();
            try {
                MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                return new SafeTensors(file, arena, all.asSlice(8 + n), header);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (NoSuchFileException e) {
            throw new SafeTensorsException(file + ": file not found", e);
        } catch (IOException e) {
            throw new SafeTensorsException(file + ": cannot read: " + e, e);
        }
    }

    private static ByteBuffer readFully(FileChannel ch, Path file, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0)
                throw new SafeTensorsException(file + ": unexpected end of file at byte " + (pos + b.position()));
        }
        return b.flip();
    }

    public Path path() { return path; }

    /** Tensor names in the order of the header. */
    public Set<String> names() { return header.tensors.keySet(); }

    public boolean has(String name) { return header.tensors.containsKey(name); }

    /** The header entry of {@code name}; throws naming the file when there is none. */
    public TensorInfo info(String name) {
        TensorInfo t = header.tensors.get(name);
        if (t == null) throw new SafeTensorsException(path + ": no tensor named '" + name + "' (" + names().size() + " tensors in the file)");
        return t;
    }

    /** The {@code __metadata__} string map (empty when absent). */
    public Map<String, String> metadata() { return header.metadata; }

    /** The raw little-endian bytes of {@code name}, read-only, valid until {@link #close()}. */
    public MemorySegment bytes(String name) {
        TensorInfo t = info(name);
        return mapped().asSlice(t.begin(), t.end() - t.begin()).asReadOnly();
    }

    /**
     * A new host F32 tensor (the caller owns and closes it) holding {@code name}'s values converted as PyTorch's
     * {@code .float()} does: F16/BF16 exactly, F64 and 64-bit integers rounded to nearest.
     */
    public Tensor loadF32(String name) {
        TensorInfo t = info(name);
        StDType dtype = StDType.valueOf(t.dtype());
        if (!dtype.loadable)
            throw new SafeTensorsException(path + ": tensor '" + name + "' has dtype " + t.dtype()
                    + ", which cannot be loaded (supported: " + StDType.loadableNames() + ")");
        int[] shape = intShape(t);
        Tensor out = Tensor.host(shape);
        try {
            StConvert.toF32(dtype, bytes(name), out.segment(), t.elements());
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /**
     * {@code name}'s values as a host F32 tensor the caller closes, without a copy where the file stores them as
     * the engine does (F32, little-endian on a little-endian machine): then the tensor is a read-only view of the
     * mapped file, and the file stays mapped until it is closed. Other dtypes are converted once into a new
     * tensor, as {@link #loadF32}. Either way the file's pages are dropped from this process's resident memory
     * when they are no longer needed (after the conversion, or when the view is closed), so a model converted
     * from its file is not held twice.
     */
    public Tensor mapF32(String name) {
        TensorInfo t = info(name);
        MemorySegment src = bytes(name);
        MemoryAdvice.populateRead(src);  // one call instead of a page fault per 4 KiB while it is read
        if (!t.dtype().equals("F32") || ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            Tensor out = loadF32(name);
            unload(src);
            return out;
        }
        synchronized (this) {
            if (closed) throw new SafeTensorsException(path + ": used after close()");
            views++;
        }
        return new Tensor(HostStorage.external(src, () -> {
            unload(src);
            viewClosed();
        }), 0, DType.F32, true, intShape(t));
    }

    /** Drops the pages of a mapped range from this process's resident set; the page cache keeps them for a reload. */
    private static void unload(MemorySegment mapped) {
        if (mapped.isMapped() && mapped.byteSize() > 0) mapped.unload();
    }

    private synchronized void viewClosed() {
        if (--views == 0 && closed) arena.close();
    }

    /** The values of an integer tensor (I64, I32, and the narrower integer dtypes) as longs. */
    public long[] loadLongs(String name) {
        TensorInfo t = info(name);
        StDType dtype = StDType.valueOf(t.dtype());
        if (!dtype.isInteger())
            throw new SafeTensorsException(path + ": tensor '" + name + "' has dtype " + t.dtype() + ", not an integer dtype");
        long n = t.elements();
        if (n > Integer.MAX_VALUE - 8) throw new SafeTensorsException(path + ": tensor '" + name + "' has too many elements (" + n + ") for a Java array");
        return StConvert.toLongs(dtype, bytes(name), (int) n);
    }

    private int[] intShape(TensorInfo t) {
        long[] s = t.shape();
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            if (s[i] > Integer.MAX_VALUE)
                throw new SafeTensorsException(path + ": tensor '" + t.name() + "' has dimension " + s[i] + " beyond the int range");
            out[i] = (int) s[i];
        }
        return out;
    }

    private MemorySegment mapped() {
        if (closed) throw new SafeTensorsException(path + ": used after close()");
        return data;
    }

    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        if (views == 0) arena.close();
    }

    @Override public String toString() {
        return "SafeTensors[" + path + ", " + names().size() + " tensors]";
    }

}
